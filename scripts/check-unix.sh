#!/usr/bin/env bash
# The crate's path for Unix systems other than Linux (no pidfds there: every
# method goes by pid) must keep compiling: `cargo check`, tests included, for
# FreeBSD and macOS, with no warning.
#
# rustup here has only the x86_64 Linux std and cannot fetch others, so std
# is built from source (-Zbuild-std) with Debian's rustc-web and its
# rust-web-src, the sources of that very compiler; RUSTC_BOOTSTRAP=1 lets a
# stable compiler take the unstable flag. A check needs no linker and no
# libc of the target. std's own dependencies come from crates.io.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGETS=(x86_64-unknown-freebsd aarch64-apple-darwin)
PACKAGES=(rustc-web cargo-web rust-web-src)

# log, die, apt_ensure_same_version.
# shellcheck source-path=SCRIPTDIR source=apt.sh
source "$ROOT/scripts/apt.sh"

# -Zbuild-std needs the sources of the very compiler that runs.
apt_ensure_same_version "${PACKAGES[@]}"

cd "$ROOT"
log "$(/usr/bin/rustc --version), std from $(dpkg-query -W -f='rust-web-src ${Version}' rust-web-src)"
output=$(mktemp)
trap 'rm -f "$output"' EXIT
# Debian's toolchain only here (CARGO/RUSTC may be inherited from rustup),
# in a target dir of its own. The binding alone: the guardian is Linux's
# (its protocol, which the binding uses everywhere, is checked with it).
PATH="/usr/bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
  CARGO_TARGET_DIR="$ROOT/target/unix" \
  /usr/bin/cargo check -Zbuild-std "${TARGETS[@]/#/--target=}" --package kill-target --all-targets --locked 2>&1 | tee "$output"
if grep -q '^warning' "$output"; then
  log "warnings above"
  exit 1
fi
log "ok: ${TARGETS[*]}"
