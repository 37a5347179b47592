#!/usr/bin/env bash
# The release build of this machine's binding: kill-target.linux-x64-gnu.node
# on x86_64, kill-target.linux-arm64-gnu.node on aarch64, at the repository
# root where the loader and the tests find it, and its guardian beside it. Linked by zig against glibc
# 2.28's symbols (scripts/zig.sh), so it loads on glibc 2.28 and later
# whatever glibc this machine has; `npm run check:glibc` holds it to that.
# The release workflow runs this on an x64 and an arm64 runner, then the
# suite, and publishes what it wrote.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The floor docs/platforms.md states; scripts/check-glibc.sh checks the same.
GLIBC=2.28

case $(uname -m) in
  x86_64) triple=x86_64-unknown-linux-gnu platform=linux-x64-gnu ;;
  aarch64) triple=aarch64-unknown-linux-gnu platform=linux-arm64-gnu ;;
  *) echo "build-release: no prebuilt binding for $(uname -m)" >&2; exit 1 ;;
esac

zig_bin=$(bash "$ROOT/scripts/zig.sh")
cd "$ROOT"
[[ -x node_modules/.bin/napi ]] || npm ci --no-audit --no-fund
# binding.js / index.d.ts are `npm run build`'s, committed: --no-js and a
# throw-away --dts leave them alone. Its own target dir, so the plain and the
# zig-linked builds do not invalidate each other's caches.
PATH="$zig_bin:$PATH" ./node_modules/.bin/napi build --platform --release \
  --cross-compile --target "$triple.$GLIBC" --target-dir target/zig \
  --no-js --dts target/zig/index.d.ts -- --locked
bash scripts/guardian.sh release "$platform" "target/zig/$triple"
