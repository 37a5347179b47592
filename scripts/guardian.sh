#!/usr/bin/env bash
# Places the guardian that `napi build` built (the workspace's default
# members are the binding and the guardian) beside its binding:
# kill-target-guardian.<platform> next to kill-target.<platform>.node, where
# the binding looks for it and where scripts/pack.sh packs it from.
#   bash scripts/guardian.sh PROFILE [PLATFORM DIR]
# PROFILE is release or debug; DIR the cargo target directory, with the
# triple for a cross build (target/zig/x86_64-unknown-linux-gnu). Without
# PLATFORM and DIR: this machine's, as `napi build` without --target builds.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
profile=$1
if [[ $# -ge 3 ]]; then
  platform=$2 dir=$3
else
  dir=target/$(rustc -vV | sed -n 's/^host: //p')
  platform=$(node -p "[process.platform, process.arch,
    process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'].join('-')")
fi
[[ $dir == /* ]] || dir="$ROOT/$dir"
source="$dir/$profile/kill-target-guardian"
[[ -x $source ]] || { echo "guardian.sh: $source was not built" >&2; exit 1; }
install -m 0755 "$source" "$ROOT/kill-target-guardian.$platform"
