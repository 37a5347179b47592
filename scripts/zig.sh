#!/usr/bin/env bash
# Zig and cargo-zigbuild, for the release builds: zig links against the
# symbol tables of whichever glibc release it is told (`TRIPLE.2.28`), so the
# bindings load on glibc 2.28 and later whatever glibc the builder has
# (a binding linked against the builder's own glibc needs that glibc).
# Both come from PyPI, whose ziglang and cargo-zigbuild wheels ship the
# binaries, into a git-ignored venv; installed once, and pinned, so every
# builder links alike.
#
#   bash scripts/zig.sh   # prints the directory to put first on PATH
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.cache/zig"
ZIGLANG=0.17.1
CARGO_ZIGBUILD=0.24.1

log() { printf '[zig] %s\n' "$*" >&2; }

if [[ ! -x $VENV/bin/zig || ! -x $VENV/bin/cargo-zigbuild ]] ||
  [[ $("$VENV/bin/zig" version) != "$ZIGLANG" ]] ||
  [[ $("$VENV/bin/cargo-zigbuild" --version) != *" $CARGO_ZIGBUILD" ]]; then
  log "installing ziglang==$ZIGLANG and cargo-zigbuild==$CARGO_ZIGBUILD into ${VENV#"$ROOT"/}"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "ziglang==$ZIGLANG" "cargo-zigbuild==$CARGO_ZIGBUILD"
  # The wheel keeps zig inside the package; cargo-zigbuild looks on PATH.
  ln -sf "$("$VENV/bin/python" -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))')/zig" "$VENV/bin/zig"
fi
log "zig $("$VENV/bin/zig" version), $("$VENV/bin/cargo-zigbuild" --version)"
echo "$VENV/bin"
