# shellcheck shell=bash
# Log lines and Debian packages, for the scripts that install what they
# need; sourced, never run. phases.sh sources it for its drivers (arm64.sh,
# kernels.sh, musl.sh); check-unix.sh and check-glibc.sh source it
# themselves.
#
# Settings, set by the script after sourcing this file:
#   APT_OPTS   options for every apt-get run made here (default none)
#   LOG_TAG    prefix of every log line (default: the running script's file
#              name, without .sh)

LOG_TAG=$(basename "$0" .sh)
APT_OPTS=()

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# apt_install PACKAGE...: apt-get update, then installs (or upgrades) the
# packages in one run. Packages of another architecture (NAME:ARCH) need
# that architecture added, and its package lists, which is why apt-get
# update runs every time.
apt_install() {
  local native foreign arch
  native=$(dpkg --print-architecture)
  # Captured first: `dpkg ... | grep -q` could fail on SIGPIPE under pipefail.
  foreign=$(dpkg --print-foreign-architectures)
  for arch in $(printf '%s\n' "$@" | sed -n 's/^[^:]*:\(.*\)$/\1/p' | sort -u); do
    if [[ $arch != "$native" ]] && ! grep -qx "$arch" <<<"$foreign"; then
      log "apt: dpkg --add-architecture $arch"
      dpkg --add-architecture "$arch"
    fi
  done
  log "apt: installing $*"
  apt-get "${APT_OPTS[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "$@" >/dev/null
}

# apt_ensure PACKAGE...: installs the packages that are not installed yet;
# touches apt only then.
apt_ensure() {
  local missing=() p
  for p in "$@"; do
    if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]} == 0)); then
    log "apt: already installed: $*"
    return 0
  fi
  apt_install "${missing[@]}"
}

# apt_versions PACKAGE...: the installed versions of the packages, one line
# each, repeats dropped.
apt_versions() {
  local p
  for p in "$@"; do dpkg-query -W -f='${Version}\n' "$p"; done | sort -u
}

# apt_ensure_same_version PACKAGE...: apt_ensure, then the packages, all
# built from one Debian source, must be at one version. Debian's rustc-web
# must run with an std (libstd-rust-web-dev:ARCH) or std sources
# (rust-web-src, for -Zbuild-std) of its very version: rustc refuses an std
# built by another rustc (E0514). Installing them in one apt run keeps them
# equal; on a machine where one was upgraded alone, all are upgraded
# together, and it fails if they still differ.
apt_ensure_same_version() {
  apt_ensure "$@"
  local versions
  versions=$(apt_versions "$@")
  if [[ $versions == *$'\n'* ]]; then
    log "apt: $* are at $(paste -sd' ' <<<"$versions"); upgrading them together"
    apt_install "$@"
    versions=$(apt_versions "$@")
    [[ $versions != *$'\n'* ]] || die "$* are still at $(paste -sd' ' <<<"$versions"); they must share one version"
  fi
  log "apt: $* at $versions"
}
