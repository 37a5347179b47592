#!/usr/bin/env bash
# Smoke-test the built x86_64 binding on a real older kernel: Debian
# bookworm's Linux 6.1 (cloud flavour), booted under qemu-system-x86_64 with
# software emulation (TCG; no KVM needed), from an initramfs holding busybox,
# this host's Node and the package. On 6.1 pidfds exist but
# PIDFD_SIGNAL_PROCESS_GROUP (6.9) and PIDFD_INFO_EXIT (6.15) do not, so the
# fallbacks the host kernel only reaches through an env var run for real.
#
#   npm run build                 # first: this script never builds
#   bash scripts/old-kernel.sh    # or: npm run test:kernel
#
# Phases (each under `timeout`, within a total budget of OLD_KERNEL_TIMEOUT
# seconds, default 270; the runner is scripts/phases.sh):
#   apt        installs qemu-system-x86 and cpio when missing (--no-install-recommends)
#   download   apt-get download of the newest bookworm 6.1 cloud kernel (the
#              one linux-image-cloud-amd64 depends on) and of busybox-static,
#              unpacked with dpkg-deb, never installed; cached by file name
#   initramfs  busybox + node + the libraries ldd lists + the package + the
#              smoke script and scripts/smoke.mjs, as an uncompressed cpio
#   vm         boots it; init runs `node scripts/old-kernel-smoke.mjs`, prints
#              OLD-KERNEL-SMOKE: PASS or FAIL and powers off. The console is
#              shown live and kept in .cache/old-kernel/console.log; timings
#              split it into boot (qemu start to init) and smoke (init to the
#              verdict).
# Exits non-zero if any phase fails or times out, or the verdict is not PASS.
#
# Everything downloaded or built lives in .cache/old-kernel/ (git-ignored).
set -euo pipefail

# log, die, run_phase, the timings and the __phase dispatch; sets ROOT and SELF.
# shellcheck source-path=SCRIPTDIR source=phases.sh
source "$(dirname "${BASH_SOURCE[0]}")/phases.sh"

CACHE="$ROOT/.cache/old-kernel"
ARTIFACT="$ROOT/kill-target.linux-x64-gnu.node"
SMOKE="$ROOT/scripts/old-kernel-smoke.mjs"
# What the smoke script imports (check, watchdog, summary): it goes into the
# initramfs next to it.
SMOKE_LIB="$ROOT/scripts/smoke.mjs"
KERNEL_META=linux-image-cloud-amd64
# The ABI number (the NN in 6.1.0-NN) changes with every point release, so it
# is read from the metapackage instead of written here.
KERNEL_PATTERN='^linux-image-6\.1\.0-[0-9]+-cloud-amd64$'
APT_PACKAGES=(qemu-system-x86 cpio)
# Downloaded, not installed: busybox-static conflicts with the dynamic
# busybox some machines have (initramfs-tools), and only its file is needed.
BUSYBOX_PACKAGE=busybox-static
# Options for every apt-get: wait for a lock another apt holds instead of
# failing, and let root download into a directory _apt cannot read.
# (apt_ensure in phases.sh uses them too.)
APT_OPTS=(-o DPkg::Lock::Timeout=120 -o APT::Sandbox::User=root)

# For run_phase (phases.sh): the grace between `timeout`'s TERM and KILL,
# short since qemu stops at once on TERM; and the timings' name column, for
# names up to 9 characters (initramfs) and the vm phase's split (vm_timings).
KILL_AFTER=5
TIMING_WIDTH=10

# ---------------------------------------------------------------- phases ---
# Each phase is a function run in a child bash under `timeout` (see
# run_phase in phases.sh), so it must rely only on what this file and
# phases.sh define at the top level.

phase_apt() {
  apt_ensure "${APT_PACKAGES[@]}"
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found after installing qemu-system-x86"
  log "apt: $(qemu-system-x86_64 --version | head -n1)"
}

# The package name of the newest 6.1 cloud kernel, from the metapackage's
# candidate (bookworm-security's, when newer than bookworm's).
kernel_package() {
  local name
  name=$(apt-cache depends "$KERNEL_META" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\).*/\1/p' | grep -E "$KERNEL_PATTERN" | head -n1 || true)
  if [[ -z $name ]]; then
    # No metapackage in the lists (or a pin elsewhere): the highest ABI listed.
    name=$(apt-cache search --names-only "$KERNEL_PATTERN" 2>/dev/null | cut -d' ' -f1 | sort -V | tail -n1 || true)
  fi
  printf '%s' "$name"
}

# fetch_deb PACKAGE: downloads the candidate .deb of PACKAGE into
# $CACHE/debs unless that very file is already there; prints its path.
fetch_deb() {
  local pkg=$1 version file
  version=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
  [[ -n $version && $version != '(none)' ]] || return 1
  # apt-get download names the file PACKAGE_VERSION_ARCH.deb, the epoch's
  # colon spelled %3a.
  file="$CACHE/debs/${pkg}_${version//:/%3a}_amd64.deb"
  if [[ ! -s $file ]]; then
    mkdir -p "$CACHE/debs"
    (cd "$CACHE/debs" && apt-get "${APT_OPTS[@]}" download -q "$pkg=$version" >&2)
  fi
  [[ -s $file ]] || return 1
  printf '%s' "$file"
}

phase_download() {
  local kernel deb tmp release busybox_policy
  kernel=$(kernel_package)
  # Captured first: `apt-cache ... | grep -q` could fail on SIGPIPE under pipefail.
  busybox_policy=$(apt-cache policy "$BUSYBOX_PACKAGE" 2>/dev/null || true)
  if [[ -z $kernel || $busybox_policy != *'Candidate: '[0-9]* ]]; then
    log "download: package lists lack $KERNEL_META or $BUSYBOX_PACKAGE; apt-get update"
    apt-get "${APT_OPTS[@]}" update -qq
    kernel=$(kernel_package)
  fi
  [[ -n $kernel ]] || die "no package matching $KERNEL_PATTERN in the apt lists (needs Debian bookworm sources)"

  # A cached file is used as is; a stale package list (404) gets one update.
  deb=$(fetch_deb "$kernel") || {
    apt-get "${APT_OPTS[@]}" update -qq
    deb=$(fetch_deb "$kernel")
  } || die "cannot download $kernel"
  release=${kernel#linux-image-}
  if [[ ! -s $CACHE/kernel/vmlinuz-$release ]]; then
    # Only boot/ (vmlinuz and config, ~10 MB), not the modules.
    tmp=$(mktemp -d "$CACHE/kernel.XXXXXX")
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./boot
    [[ -s $tmp/boot/vmlinuz-$release ]] || die "$(basename "$deb") has no boot/vmlinuz-$release"
    rm -rf "$CACHE/kernel"
    mv "$tmp/boot" "$CACHE/kernel"
    rm -rf "$tmp"
  fi
  printf '%s\n' "$release" >"$CACHE/kernel-release"

  # The initramfs has no modules, so all it needs must be built in.
  local option missing=()
  for option in BLK_DEV_INITRD DEVTMPFS PROC_FS SYSFS BINFMT_ELF BINFMT_SCRIPT SERIAL_8250 SERIAL_8250_CONSOLE; do
    grep -qx "CONFIG_$option=y" "$CACHE/kernel/config-$release" || missing+=("$option")
  done
  ((${#missing[@]} == 0)) || die "kernel $release lacks built-in ${missing[*]}"
  log "download: $kernel ($(basename "$deb"), $(($(stat -c %s "$deb") / 1024 / 1024)) MB), vmlinuz $(($(stat -c %s "$CACHE/kernel/vmlinuz-$release") / 1024)) KB"

  deb=$(fetch_deb "$BUSYBOX_PACKAGE") || die "cannot download $BUSYBOX_PACKAGE"
  if [[ ! -x $CACHE/busybox || $deb -nt $CACHE/busybox ]]; then
    tmp=$(mktemp -d "$CACHE/busybox.XXXXXX")
    dpkg-deb -x "$deb" "$tmp"
    local bin
    bin=$(find "$tmp" -type f -name busybox -perm -u+x | head -n1)
    [[ -n $bin ]] || die "$(basename "$deb") has no busybox binary"
    mv "$bin" "$CACHE/busybox"
    rm -rf "$tmp"
  fi
  # Statically linked, or it could not run in the initramfs alone.
  if LC_ALL=C ldd "$CACHE/busybox" 2>&1 | grep -q '=>'; then
    die "$CACHE/busybox is not statically linked"
  fi
  log "download: $("$CACHE/busybox" | head -n1)"
}

# copy_libs DEST FILE...: copies every shared library the FILEs need (as ldd
# lists them, the dynamic loader included) to the same path under DEST.
copy_libs() {
  local dest=$1 file lib
  shift
  for file in "$@"; do
    # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and
    # "/lib64/ld-linux-x86-64.so.2 (0x...)"; not "linux-vdso.so.1 (0x...)".
    LC_ALL=C ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
  done | sort -u | while IFS= read -r lib; do
    mkdir -p "$dest$(dirname "$lib")"
    cp -L "$lib" "$dest$lib"
  done
}

phase_initramfs() {
  local node rootfs release
  node=$(command -v node) || die "no node on PATH"
  node=$(readlink -f "$node")
  release=$(cat "$CACHE/kernel-release")
  rootfs="$CACHE/rootfs"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{bin,dev,proc,sys,tmp,usr/bin,pkg/scripts}

  # busybox for init's shell, mount, poweroff, and the children the smoke
  # spawns (sh, sleep): every applet as a symlink in /bin.
  cp "$CACHE/busybox" "$rootfs/bin/busybox"
  local applet
  for applet in $("$CACHE/busybox" --list); do
    [[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
  done

  cp "$node" "$rootfs/usr/bin/node"
  copy_libs "$rootfs" "$node" "$ARTIFACT"

  # What the package needs at run time: the generated loader picks the .node
  # next to it by platform and arch. The smoke script imports ../index.js
  # and ./smoke.mjs.
  cp "$ROOT/index.js" "$ROOT/package.json" "$ARTIFACT" "$rootfs/pkg/"
  cp "$SMOKE" "$SMOKE_LIB" "$rootfs/pkg/scripts/"

  # PID 1. Node runs as its child, under busybox's timeout; whatever happens
  # to it, init prints the verdict and powers off (if poweroff failed, init
  # would exit, the kernel panic, panic=-1 reboot, and -no-reboot end qemu).
  cat >"$rootfs/init" <<'EOF'
#!/bin/sh
export PATH=/bin:/usr/bin HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "OLD-KERNEL-INIT: $(uname -r), uptime $(cut -d' ' -f1 /proc/uptime) s"
cd /pkg
timeout 120 node scripts/old-kernel-smoke.mjs
rc=$?
echo "OLD-KERNEL-DONE: node exited $rc, uptime $(cut -d' ' -f1 /proc/uptime) s"
if [ "$rc" -eq 0 ]; then
  echo "OLD-KERNEL-SMOKE: PASS"
else
  echo "OLD-KERNEL-SMOKE: FAIL"
fi
poweroff -f
sleep 5
EOF
  chmod 755 "$rootfs/init"

  # Uncompressed (~100 MB, mostly node): gzip would cost ~1.7 s here and
  # ~1 s more of decompression in the emulated boot, for nothing kept.
  (cd "$rootfs" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$CACHE/initramfs.cpio.tmp"
  mv "$CACHE/initramfs.cpio.tmp" "$CACHE/initramfs.cpio"
  log "initramfs: $(($(stat -c %s "$CACHE/initramfs.cpio") / 1024 / 1024)) MB, node $("$node" --version) from $node, kernel $release"
}

phase_vm() {
  local release line
  release=$(cat "$CACHE/kernel-release")
  : >"$CACHE/console.log"
  # -nodefaults: no VGA, NIC or option ROMs; the only device is the serial
  # port on stdio. -cpu max: every x86 feature TCG emulates (Node's V8
  # expects more than the default qemu64 model). The kernel's own bound is
  # the busybox timeout in init; this one is the phase's.
  {
    qemu-system-x86_64 -nodefaults -machine pc -accel tcg -cpu max -smp 2 -m 2048 \
      -display none -monitor none -serial stdio -no-reboot \
      -kernel "$CACHE/kernel/vmlinuz-$release" -initrd "$CACHE/initramfs.cpio" \
      -append "console=ttyS0 quiet panic=-1" </dev/null 2>&1 || echo "OLD-KERNEL-QEMU: exit $?"
  } | while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    printf '%s\n' "$line" >>"$CACHE/console.log"
    printf 'vm| %s\n' "$line" >&2
    case $line in
      OLD-KERNEL-INIT:*) echo "init $(now_ms)" >>"$CACHE/vm-times" ;;
      "OLD-KERNEL-SMOKE: "*) echo "done $(now_ms)" >>"$CACHE/vm-times" ;;
    esac
  done
}

# --------------------------------------------------------------- driver ---

# run_phase's hook (phases.sh): after the vm phase, passed or not, its
# split into boot, smoke and poweroff.
on_phase_end() {
  [[ $1 != vm ]] || vm_timings "$2" "$3"
}

# Splits the vm phase by the times the console lines arrived on the host.
vm_timings() {
  local start=$1 end=$2 init='' done=''
  if [[ -f $CACHE/vm-times ]]; then
    init=$(sed -n 's/^init //p' "$CACHE/vm-times" | head -n1)
    done=$(sed -n 's/^done //p' "$CACHE/vm-times" | head -n1)
  fi
  [[ -n $init ]] && add_timing "  boot" $((init - start))
  [[ -n $init && -n $done ]] && add_timing "  smoke" $((done - init))
  [[ -n $done ]] && add_timing "  poweroff" $((end - done))
  return 0
}

main() {
  (($# == 0)) || die "usage: bash scripts/old-kernel.sh (no arguments; OLD_KERNEL_TIMEOUT=seconds bounds it)"
  require_root_x86_64 apt-get
  [[ -f $ARTIFACT ]] || die "no $(basename "$ARTIFACT"): run 'npm run build' first"
  local newer
  newer=$(find "$ROOT/src" "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" -newer "$ARTIFACT" -type f 2>/dev/null | head -n3 | sed "s|^$ROOT/||" | tr '\n' ' ')
  [[ -z $newer ]] || log "warning: $(basename "$ARTIFACT") is older than ${newer}- testing it as built"

  start_clock "${OLD_KERNEL_TIMEOUT:-270}"
  mkdir -p "$CACHE"

  run_phase apt 150
  run_phase download 90
  run_phase initramfs 60

  rm -f "$CACHE/vm-times"
  run_phase vm 150

  if grep -qx 'OLD-KERNEL-SMOKE: PASS' "$CACHE/console.log"; then
    log "PASS on Linux $(cat "$CACHE/kernel-release") (console: ${CACHE#"$ROOT"/}/console.log)"
  elif grep -qx 'OLD-KERNEL-SMOKE: FAIL' "$CACHE/console.log"; then
    die "smoke test FAILED on Linux $(cat "$CACHE/kernel-release") (console: ${CACHE#"$ROOT"/}/console.log)"
  else
    die "no verdict from the VM (console: ${CACHE#"$ROOT"/}/console.log)"
  fi
}

phases_main "$@"
