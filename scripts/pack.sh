#!/usr/bin/env bash
# The published shape, checked the way a user meets it.
#
#   bash scripts/pack.sh [arm64]
#
# 1. Packs the three packages the release publishes, through napi's own
#    flow on a staged copy of the package (the checkout is left as it is):
#    `napi artifacts` puts each kill-target.linux-*-gnu.node (from the
#    repository root) into its npm/ package, and `napi prepublish
#    --skip-optional-publish --no-gh-release` writes the root package's
#    optionalDependencies, the step `npm publish` would run, without
#    publishing. The tarballs land in target/pack/: the release publishes
#    those very files.
# 2. Checks the tarballs: one version everywhere, optionalDependencies naming
#    both platform packages at it, each platform package holding its binding.
# 3. Installs them into a fresh project with no network (a dead registry,
#    an empty cache, --offline) and no Rust or C compiler on PATH, and there
#    require()s the package from CommonJS, imports it from an ES module, and
#    type-checks a TypeScript file against the installed declarations.
#    With `arm64`, it also installs for arm64 (npm --cpu=arm64) and runs the
#    CommonJS and ES module checks in the arm64 Node that `npm run
#    test:arm64` sets up, under qemu-user.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/target/pack"
CONSUMER="$ROOT/scripts/pack-consumer"
NAPI="$ROOT/node_modules/.bin/napi"
TARGETS=(linux-x64-gnu linux-arm64-gnu)

log() { printf '[pack] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

with_arm64=false
case ${1:-} in
  '') ;;
  arm64) with_arm64=true ;;
  *) die "usage: bash scripts/pack.sh [arm64]" ;;
esac

[[ -x $NAPI ]] || die "no napi CLI; run npm ci first"
for target in "${TARGETS[@]}"; do
  [[ -f $ROOT/kill-target.$target.node ]] || die "no kill-target.$target.node; build it first"
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ------------------------------------------------------------------ pack ---
stage="$WORK/stage"
mkdir -p "$stage/artifacts"
cp "$ROOT"/{package.json,index.js,index.d.ts,cli.js,README.md,LICENSE} "$stage/"
cp -r "$ROOT/npm" "$stage/"
cp "$ROOT"/kill-target.linux-*-gnu.node "$stage/artifacts/"
napi() { (cd "$stage" && "$NAPI" "$@") >"$WORK/napi.log" 2>&1 || { cat "$WORK/napi.log" >&2; die "napi $1 failed"; }; }
napi artifacts --output-dir artifacts --npm-dir npm
napi prepublish --tag-style npm --skip-optional-publish --no-gh-release
rm -rf "$OUT"
mkdir -p "$OUT"
for dir in "$stage" "${TARGETS[@]/#/$stage/npm/}"; do
  (cd "$dir" && npm pack --silent --pack-destination "$OUT" >/dev/null)
done
version=$(node -p "require('$ROOT/package.json').version")
root_tgz="$OUT/kill-target-$version.tgz"
packed=("$OUT"/*.tgz)
log "packed: ${packed[*]##*/}"

# ----------------------------------------------------------------- check ---
manifest() { tar -xOzf "$1" package/package.json; }
files() { tar -tzf "$1" | sed 's|^package/||' | sort | paste -sd' '; }

[[ -f $root_tgz ]] || die "no $(basename "$root_tgz")"
expected=$(for target in "${TARGETS[@]}"; do printf '"kill-target-%s":"%s",' "$target" "$version"; done)
optional=$(manifest "$root_tgz" | node -e "process.stdout.write(JSON.stringify(JSON.parse(require('fs').readFileSync(0)).optionalDependencies ?? {}))")
[[ $optional == "{${expected%,}}" ]] || die "root optionalDependencies are $optional, not {${expected%,}}"
[[ $(files "$root_tgz") == "LICENSE README.md cli.js index.d.ts index.js package.json" ]] ||
  die "root package holds: $(files "$root_tgz")"
# What the tests load is what ships: napi's staging must not change them.
for file in index.js index.d.ts cli.js; do
  tar -xOzf "$root_tgz" "package/$file" | cmp -s - "$ROOT/$file" || die "the packed $file differs from the repository's"
done
for target in "${TARGETS[@]}"; do
  tgz="$OUT/kill-target-$target-$version.tgz"
  [[ -f $tgz ]] || die "no $(basename "$tgz"): its version differs from the root's $version (npm version syncs them)"
  [[ $(files "$tgz") == *"kill-target.$target.node"* ]] || die "$(basename "$tgz") holds: $(files "$tgz")"
done
log "ok: version $version everywhere; optionalDependencies $optional; each platform package holds its binding"

# --------------------------------------------------------------- install ---
# A PATH with node, npm and sh only: no cargo, rustc or cc to build with.
bin="$WORK/bin"
mkdir -p "$bin"
ln -s "$(command -v node)" "$bin/node"
ln -s "$(command -v npm)" "$bin/npm"
ln -s "$(command -v sh)" "$bin/sh"
ln -s "$(command -v sleep)" "$bin/sleep"
isolated() {
  # 127.0.0.1:9 (discard) refuses: any registry request fails at once.
  env -i HOME="$WORK/home" PATH="$bin" \
    npm_config_registry=http://127.0.0.1:9/ npm_config_cache="$WORK/cache" \
    npm_config_offline=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false \
    "$@"
}
isolated sh -c '! command -v cargo && ! command -v rustc && ! command -v cc' >/dev/null ||
  die "a compiler is on the isolated PATH"

# install DIR [NPM_OPTION...]: a new project in DIR that depends on the root
# tarball; the platform tarballs stand in for the registry's copies of the
# optionalDependencies through overrides, so npm picks among them by os/cpu/libc
# exactly as it would from the registry.
install() {
  local dir=$1 target overrides=''
  shift
  for target in "${TARGETS[@]}"; do
    overrides+="\"kill-target-$target\": \"file:$OUT/kill-target-$target-$version.tgz\","
  done
  mkdir -p "$dir"
  cat >"$dir/package.json" <<EOF
{ "name": "consumer", "version": "1.0.0", "private": true, "overrides": { ${overrides%,} } }
EOF
  cp "$CONSUMER"/check.* "$CONSUMER"/check-loaded.cjs "$CONSUMER"/tsconfig.json "$dir/"
  (cd "$dir" && isolated npm install "$@" "$root_tgz" >/dev/null)
  local installed=("$dir"/node_modules/kill-target*)
  log "installed in a fresh project${*:+ ($*)}: ${installed[*]##*/}"
}

host="$WORK/host"
install "$host"
(
  cd "$host"
  isolated node check.cjs
  isolated node check.mjs
  # The command npm links from "bin", on this very shell.
  id=$(isolated node_modules/.bin/kill-target id $$) || die "kill-target id failed"
  [[ $id =~ ^(pidfs|starttime):$$: ]] || die "kill-target id printed: $id"
  log "bin: kill-target id prints $id"
  # The repository's compiler and Node types; the declarations under test
  # are the installed package's own (no skipLibCheck).
  mkdir -p node_modules/@types
  ln -s "$ROOT/node_modules/@types/node" node_modules/@types/node
  isolated node "$ROOT/node_modules/typescript/bin/tsc" -p tsconfig.json
  log "tsc: check.mts type-checks against the installed index.d.ts"
)

if $with_arm64; then
  arm64_nodes=("$ROOT"/.cache/arm64/node-v*/bin/node)
  arm64_node=${arm64_nodes[0]}
  [[ -x $arm64_node ]] || die "no arm64 Node; run npm run test:arm64 first"
  arm="$WORK/arm64"
  install "$arm" --cpu=arm64 --os=linux --libc=glibc
  [[ -f $arm/node_modules/kill-target-linux-arm64-gnu/kill-target.linux-arm64-gnu.node ]] ||
    die "npm --cpu=arm64 did not install kill-target-linux-arm64-gnu"
  ln -sf "$arm64_node" "$bin/node"
  (
    cd "$arm"
    isolated node check.cjs
    isolated node check.mjs
  )
fi
log "ok"
