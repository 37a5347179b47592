#!/usr/bin/env bash
# Run the tests whose outcome depends on the kernel (the spec files in
# VM_SPECS, with ava as `npm test` runs them) on real older Linux kernels:
# Debian's own cloud kernels, booted under qemu-system-x86_64
# with software emulation (TCG; no KVM needed) from an initramfs holding
# busybox, this host's Node, the built package, its tests and what they run
# (util-linux's unshare for the race tests). The seccomp tests skip there
# (no C compiler for their launcher): they imitate older kernels, and these
# are older kernels.
#
#   5.10  Debian 11 (bullseye): pidfds and PIDFD_NONBLOCK, nothing newer
#   6.1   Debian 12 (bookworm): pidfds, but no PIDFD_SIGNAL_PROCESS_GROUP
#         (6.9), no PIDFD_GET_INFO (6.13), no PIDFD_INFO_EXIT (6.15)
#   6.12  bookworm-backports: the group flag, no PIDFD_GET_INFO, no exit
#         information
#   7     the newest cloud kernel in trixie-backports (7.x): everything, and
#         whatever changed after the host's kernel
#
# There the fallbacks the host kernel never takes run for real: signalGroup
# through killpg(2), exitStatus() answering null, pid reuse steered by
# ns_last_pid, while waits still go through the pidfd.
#
#   npm run build                  # first: this script never builds
#   bash scripts/kernels.sh        # or: npm run test:kernels (every kernel)
#   bash scripts/kernels.sh 6.12   # some of them
#
# For each kernel it checks that capabilities() is what that kernel offers
# (pidfd from 5.3, groupSignal and pidfs from 6.9, pidfdInfo from 6.13,
# exitInfo from 6.15, and the libuv wait path), lists the
# skipped tests (each title says why), and prints one line:
#   kernel 6.1.0-56-cloud-amd64: pidfd=true groupSignal=false ... — N passed, N skipped, 0 failed
# It exits non-zero if a test failed, the capabilities are wrong, or a VM
# gave no verdict.
#
# Phases (each under `timeout`, within a total budget of KERNELS_TIMEOUT
# seconds, default 1440; the runner is scripts/phases.sh):
#   apt        installs qemu-system-x86, cpio and util-linux when missing
#              (--no-install-recommends)
#   download   for each kernel, the one Debian's linux-image-cloud-amd64
#              metapackage depends on in that suite, and busybox-static:
#              apt-get download with package lists of their own (so the
#              host's apt sources stay as they are), unpacked with dpkg-deb,
#              never installed; cached by file name
#   initramfs  one for every kernel (nothing in it depends on the kernel):
#              busybox, node, unshare, the libraries ldd lists, the package,
#              its tests and the node_modules they load, as an uncompressed
#              cpio; and the spec files to run (VM_SPECS)
#   vm VERSION boots it on that kernel; init prints capabilities(), runs ava
#              with --tap, and powers off. The console is shown live and kept
#              in .cache/kernels/VERSION/console.log; timings split it into
#              boot (qemu start to init), suite (init to ava's end) and
#              poweroff.
#
# Everything downloaded or built lives in .cache/kernels/ (git-ignored), and
# nothing is left running: each VM powers itself off, and `timeout` kills
# qemu if it does not.
set -euo pipefail

# log, die, run_phase, the timings and the __phase dispatch; sets ROOT and SELF.
# shellcheck source-path=SCRIPTDIR source=phases.sh
source "$(dirname "${BASH_SOURCE[0]}")/phases.sh"

CACHE="$ROOT/.cache/kernels"
ARTIFACT="$ROOT/kill-target.linux-x64-gnu.node"
GUARDIAN="$ROOT/kill-target-guardian.linux-x64-gnu"

# The kernels, in the order they run, and the apt suite set each comes from.
KERNELS=(5.10 6.1 6.12 7)
declare -A KERNEL_SUITES=([5.10]=bullseye [6.1]=bookworm [6.12]=bookworm-backports [7]=trixie-backports)
# Each suite set gets package lists of its own under $CACHE/apt/NAME
# (bookworm-security has the newest 6.1 point release).
declare -A SUITES=(
  [bullseye]="debian bullseye|debian-security bullseye-security"
  [bookworm]="debian bookworm|debian-security bookworm-security"
  [bookworm-backports]="debian bookworm-backports"
  [trixie-backports]="debian trixie-backports"
)
MIRROR=http://deb.debian.org
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
KERNEL_META=linux-image-cloud-amd64
# Downloaded from the bookworm suites, not installed: busybox-static
# conflicts with the dynamic busybox some machines have (initramfs-tools),
# and only its file is needed.
BUSYBOX_PACKAGE=busybox-static
# unshare with --fork and --kill-child (busybox's has neither), for the race
# tests; the keyring the suites' package lists are checked against.
APT_PACKAGES=(qemu-system-x86 cpio util-linux debian-archive-keyring)

# The spec files the VMs run: the ones whose outcome depends on the kernel
# (what the probe finds, which system call each method makes, how pid reuse
# is forced). The others take minutes each under emulation for what the
# package does the same on every kernel with pidfds, and run on the host:
# fds (100,000-target descriptor cycles), hostile (argument fuzzing,
# refused before any system call), reap (1,000 trials of libuv's batch
# reap), reuse and identity-reuse (200 forced reuses per arm; race.spec
# forces the same reuse here). identity checks ids of the start-time kind
# where pidfs is absent (before 6.9); kill-on-exit runs the guardian there,
# its tree walk reading parents from /proc (no PIDFD_GET_INFO before 6.13).
# seccomp skips in the VMs (no C compiler for its launcher): it imitates
# older kernels, and these are older kernels.
# KERNELS_SPECS="NAME..." (e.g. KERNELS_SPECS=reuse) runs those instead.
VM_SPECS=(target wait errors fallback race seccomp tree identity kill-on-exit kill-on-exit-hostile foreign timeout)

# Per kernel VM: the phase's limit, and the part of it the suite gets inside
# the VM (the rest covers boot and poweroff), so a hung test still ends in a
# verdict and the TAP so far.
VM_BUDGET=720
SUITE_BUDGET=600

# Options for every apt-get: wait for a lock another apt holds instead of
# failing, and let root download into a directory _apt cannot read.
# (apt_ensure in apt.sh uses them too.)
APT_OPTS=(-o DPkg::Lock::Timeout=120 -o APT::Sandbox::User=root)

# For run_phase (phases.sh): the grace between `timeout`'s TERM and KILL,
# short since qemu stops at once on TERM; and the timings' name column, for
# names up to 24 characters ("download 5.10 6.1 6.12 7") and the vm phase's split.
KILL_AFTER=5
TIMING_WIDTH=25

# ---------------------------------------------------------------- phases ---
# Each phase is a function run in a child bash under `timeout` (see
# run_phase in phases.sh), so it must rely only on what this file and
# phases.sh define at the top level.

phase_apt() {
  apt_ensure "${APT_PACKAGES[@]}"
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found after installing qemu-system-x86"
  log "apt: $(qemu-system-x86_64 --version | head -n1)"
}

# suite_apt NAME COMMAND ARG...: runs apt-get or apt-cache (COMMAND) on the
# package lists of suite set NAME alone, written on first use.
suite_apt() {
  local name=$1 command=$2 dir="$CACHE/apt/$1" entry
  shift 2
  if [[ ! -s $dir/sources.list ]]; then
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/parts"
    local -a entries
    IFS='|' read -r -a entries <<<"${SUITES[$name]}"
    for entry in "${entries[@]}"; do
      # "ARCHIVE SUITE" -> a deb line for its main component.
      printf 'deb [signed-by=%s] %s/%s main\n' "$KEYRING" "$MIRROR" "$entry"
    done >"$dir/sources.list"
  fi
  "$command" "${APT_OPTS[@]}" -o Dir::Etc::SourceList="$dir/sources.list" \
    -o Dir::Etc::SourceParts="$dir/parts" -o Dir::State::Lists="$dir/lists" \
    -o Dir::Cache="$dir/cache" -o Acquire::Languages=none -o APT::Architectures=amd64 "$@"
}

suite_update() {
  log "download: apt-get update for $1"
  suite_apt "$1" apt-get update -qq
}

# suite_lists SUITE: apt-get update for SUITE unless its lists are there.
suite_lists() {
  [[ -n $(find "$CACHE/apt/$1/lists" -name '*_Packages*' -print -quit 2>/dev/null) ]] || suite_update "$1"
}

# kernel_package SUITE VERSION: the name of the cloud kernel VERSION.N that
# the metapackage depends on in SUITE, or else the highest one listed.
kernel_package() {
  local suite=$1 pattern name
  pattern="^linux-image-${2//./\\.}\\.[0-9]+[^ ]*-cloud-amd64\$"
  name=$(suite_apt "$suite" apt-cache depends "$KERNEL_META" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\).*/\1/p' | grep -E "$pattern" | head -n1 || true)
  if [[ -z $name ]]; then
    name=$(suite_apt "$suite" apt-cache search --names-only "$pattern" 2>/dev/null | cut -d' ' -f1 | sort -V | tail -n1 || true)
  fi
  printf '%s' "$name"
}

# fetch_deb SUITE PACKAGE: downloads the candidate .deb of PACKAGE in SUITE
# into $CACHE/debs unless that very file is already there; prints its path.
fetch_deb() {
  local suite=$1 pkg=$2 version file
  version=$(suite_apt "$suite" apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
  [[ -n $version && $version != '(none)' ]] || return 1
  # apt-get download names the file PACKAGE_VERSION_ARCH.deb, the epoch's
  # colon spelled %3a.
  file="$CACHE/debs/${pkg}_${version//:/%3a}_amd64.deb"
  if [[ ! -s $file ]]; then
    mkdir -p "$CACHE/debs"
    (cd "$CACHE/debs" && suite_apt "$suite" apt-get download -q "$pkg=$version" >&2)
  fi
  [[ -s $file ]] || return 1
  printf '%s' "$file"
}

# fetch SUITE PACKAGE: fetch_deb, with an apt-get update first when the
# lists are missing and again when they are stale (a 404).
fetch() {
  suite_lists "$1"
  fetch_deb "$@" || { suite_update "$1" && fetch_deb "$@"; } || die "cannot download $2 from $1"
}

phase_download() {
  local version suite kernel deb release tmp option missing part
  for version in "$@"; do
    suite=${KERNEL_SUITES[$version]}
    suite_lists "$suite"
    kernel=$(kernel_package "$suite" "$version")
    if [[ -z $kernel ]]; then
      suite_update "$suite"
      kernel=$(kernel_package "$suite" "$version")
    fi
    [[ -n $kernel ]] || die "no cloud kernel $version.N in $suite"
    release=${kernel#linux-image-}
    if [[ ! -s $CACHE/$version/kernel/vmlinuz-$release ]]; then
      # Only the kernel and its config (~12 MB), not the modules: boot/ of
      # the image package, or since trixie's 7.x packaging (the image
      # package only depends on others) usr/lib/modules/RELEASE of the
      # binary and base packages.
      mkdir -p "$CACHE/$version"
      tmp=$(mktemp -d "$CACHE/$version/kernel.XXXXXX")
      mkdir "$tmp/boot"
      if suite_apt "$suite" apt-cache show "linux-binary-$release" >/dev/null 2>&1; then
        for part in binary base; do
          deb=$(fetch "$suite" "linux-$part-$release")
          dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "./usr/lib/modules/$release"
        done
        mv "$tmp/usr/lib/modules/$release/vmlinuz" "$tmp/boot/vmlinuz-$release"
        mv "$tmp/usr/lib/modules/$release/config" "$tmp/boot/config-$release"
      else
        deb=$(fetch "$suite" "$kernel")
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./boot
      fi
      [[ -s $tmp/boot/vmlinuz-$release ]] || die "$(basename "$deb") has no boot/vmlinuz-$release"
      rm -rf "$CACHE/$version/kernel"
      mv "$tmp/boot" "$CACHE/$version/kernel"
      rm -rf "$tmp"
    fi
    printf '%s\n' "$release" >"$CACHE/$version/release"

    # The initramfs has no modules, so all it needs must be built in: boot
    # and console, then PID namespaces (race tests) and seccomp filters.
    missing=()
    for option in BLK_DEV_INITRD DEVTMPFS PROC_FS SYSFS BINFMT_ELF BINFMT_SCRIPT SERIAL_8250 SERIAL_8250_CONSOLE PID_NS SECCOMP_FILTER; do
      grep -qx "CONFIG_$option=y" "$CACHE/$version/kernel/config-$release" || missing+=("$option")
    done
    ((${#missing[@]} == 0)) || die "kernel $release lacks built-in ${missing[*]}"
    log "download: $kernel"
  done

  deb=$(fetch bookworm "$BUSYBOX_PACKAGE")
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

# The packages the tests load, from node_modules: every devDependency but
# the build and type-check tools (the host has already run tsc), with
# everything they depend on, found the way Node resolves them. Prints their
# directories relative to the repository root.
test_modules() {
  # shellcheck disable=SC2016 # JavaScript template literals, not shell
  (cd "$ROOT" && node -e '
    const fs = require("node:fs")
    const path = require("node:path")
    const buildOnly = /^(@napi-rs\/cli|typescript|@types\/.*)$/
    const roots = Object.keys(require("./package.json").devDependencies).filter((name) => !buildOnly.test(name))
    const found = new Set()
    const visit = (name, from, optional) => {
      for (let base = from; ; base = path.dirname(base)) {
        const dir = path.join(base, "node_modules", name)
        if (fs.existsSync(path.join(dir, "package.json"))) {
          if (found.has(dir)) return
          found.add(dir)
          const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"))
          for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, false)
          // Platform packages: only the ones npm installed here exist.
          for (const dep of Object.keys({ ...pkg.optionalDependencies, ...pkg.peerDependencies })) visit(dep, dir, true)
          return
        }
        if (base === ".") break
      }
      if (!optional) throw new Error(`${name} (needed from ${from}) is not installed: run npm ci`)
    }
    for (const name of roots) visit(name, ".", false)
    console.log([...found].sort().join("\n"))
  ')
}

phase_initramfs() {
  local node rootfs dir
  node=$(command -v node) || die "no node on PATH"
  node=$(readlink -f "$node")
  rootfs="$CACHE/rootfs"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{bin,dev,proc,sys,tmp,usr/bin,pkg}
  chmod 1777 "$rootfs/tmp"

  # busybox for init's shell, mount, poweroff, and what the tests spawn (sh,
  # sleep, true): every applet as a symlink in /bin...
  cp "$CACHE/busybox" "$rootfs/bin/busybox"
  local applet
  for applet in $("$CACHE/busybox" --list); do
    [[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
  done
  # ...but util-linux's unshare (examples/pid-reuse.mjs needs --fork), and
  # its setpriv and prlimit, which busybox lacks (foreign.spec drops to
  # another uid, kill-on-exit-hostile.spec lowers the guardian's limit).
  rm "$rootfs/bin/unshare"
  local tool
  for tool in unshare setpriv prlimit; do
    cp "$(command -v "$tool")" "$rootfs/usr/bin/$tool"
  done

  cp "$node" "$rootfs/usr/bin/node"

  # The package as the tests load it (the entry, and the generated loader
  # that picks the .node next to it), the tests, the example module the race
  # tests import, and the node_modules ava and its --import need.
  cp "$ROOT/index.js" "$ROOT/binding.js" "$ROOT/cli.js" "$ROOT/package.json" "$ARTIFACT" "$GUARDIAN" "$rootfs/pkg/"
  cp -r "$ROOT/__test__" "$ROOT/examples" "$ROOT/compat" "$rootfs/pkg/"
  local -a modules
  mapfile -t modules < <(test_modules)
  ((${#modules[@]} > 0)) || die "no test modules found in node_modules"
  for dir in "${modules[@]}"; do
    mkdir -p "$rootfs/pkg/$(dirname "$dir")"
    cp -r "$ROOT/$dir" "$rootfs/pkg/$dir"
  done

  # Every library a program or native module here needs (@oxc-node's
  # binding needs libgcc_s, for one).
  local -a addons
  mapfile -t addons < <(find "$rootfs/pkg" -name '*.node' -type f)
  copy_libs "$rootfs" "$node" "$rootfs"/usr/bin/{unshare,setpriv,prlimit} "${addons[@]}"

  # The spec files ava runs there, relative to the package.
  local name selected=() names
  read -r -a names <<<"${KERNELS_SPECS:-${VM_SPECS[*]}}"
  for name in "${names[@]}"; do
    [[ -f $ROOT/__test__/$name.spec.mts ]] || die "no __test__/$name.spec.mts"
    selected+=("__test__/$name.spec.mts")
  done
  printf '%s\n' "${selected[@]}" >"$rootfs/pkg/specs"

  # PID 1. ava runs as its child, under busybox's timeout (SUITE_TIMEOUT
  # comes from the kernel command line, which hands init every NAME=VALUE it
  # does not know); whatever happens to it, init reports and powers off (if
  # poweroff failed, init would exit, the kernel panic, panic=-1 reboot, and
  # -no-reboot end qemu).
  cat >"$rootfs/init" <<'EOF'
#!/bin/sh
# The tests skip what needs hundreds of quick spawns (see underEmulation in
# __test__/helpers.mts): every process costs milliseconds under TCG.
export PATH=/usr/bin:/bin HOME=/tmp KILL_TARGET_EMULATED_KERNEL=1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
echo "KERNEL-INIT: $(uname -r), uptime $(cut -d' ' -f1 /proc/uptime) s"
cd /pkg
echo "KERNEL-CAPABILITIES: $(timeout 60 node -p 'JSON.stringify(require("./index.js").capabilities())')"
echo "KERNEL-TAP-BEGIN"
# shellcheck disable=SC2046 # one spec file per word
timeout "${SUITE_TIMEOUT:-600}" node node_modules/ava/entrypoints/cli.mjs --tap $(cat specs)
rc=$?
echo "KERNEL-TAP-END: ava exited $rc, uptime $(cut -d' ' -f1 /proc/uptime) s"
poweroff -f
sleep 5
EOF
  chmod 755 "$rootfs/init"

  # Uncompressed (~130 MB, mostly node): gzip would cost seconds here and
  # more of decompression in the emulated boot, for nothing kept.
  (cd "$rootfs" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$CACHE/initramfs.cpio.tmp"
  mv "$CACHE/initramfs.cpio.tmp" "$CACHE/initramfs.cpio"
  log "initramfs: $(($(stat -c %s "$CACHE/initramfs.cpio") / 1024 / 1024)) MB, node $("$node" --version), ${#modules[@]} node_modules packages"
  log "initramfs: runs ${selected[*]#__test__/}"
}

phase_vm() {
  local version=$1 dir="$CACHE/$1" release line
  release=$(cat "$dir/release")
  : >"$dir/console.log"
  rm -f "$dir/vm-times"
  # -nodefaults: no VGA, NIC or option ROMs; the only device is the serial
  # port on stdio. -cpu max: every x86 feature TCG emulates (Node's V8
  # expects more than the default qemu64 model), but cmpxchg16b: with it,
  # qemu 7.2's multi-threaded TCG corrupts 6.12's slab allocator now and
  # then (double faults at boot); without it the kernel takes a lock there.
  # The suite's own bound is the busybox timeout in init; this one is the
  # phase's.
  {
    qemu-system-x86_64 -nodefaults -machine pc -accel tcg -cpu max,-cx16 -smp 2 -m 3072 \
      -display none -monitor none -serial stdio -no-reboot \
      -kernel "$dir/kernel/vmlinuz-$release" -initrd "$CACHE/initramfs.cpio" \
      -append "console=ttyS0 quiet panic=-1 SUITE_TIMEOUT=$SUITE_BUDGET" </dev/null 2>&1 || echo "KERNEL-QEMU: exit $?"
  } | while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    printf '%s\n' "$line" >>"$dir/console.log"
    printf 'vm %s| %s\n' "$version" "$line" >&2
    case $line in
      KERNEL-INIT:*) echo "init $(now_ms)" >>"$dir/vm-times" ;;
      KERNEL-TAP-END:*) echo "done $(now_ms)" >>"$dir/vm-times" ;;
    esac
  done
}

# --------------------------------------------------------------- driver ---

# run_phase's hook (phases.sh): after a vm phase, passed or not, its split
# into boot, suite and poweroff.
on_phase_end() {
  [[ $1 != vm ]] || vm_timings "$2" "$3" "$4"
}

# Splits a vm phase by the times the console lines arrived on the host.
vm_timings() {
  local start=$1 end=$2 times="$CACHE/$3/vm-times" init='' done=''
  if [[ -f $times ]]; then
    init=$(sed -n 's/^init //p' "$times" | head -n1)
    done=$(sed -n 's/^done //p' "$times" | head -n1)
  fi
  [[ -n $init ]] && add_timing "  boot" $((init - start))
  [[ -n $init && -n $done ]] && add_timing "  suite" $((done - init))
  [[ -n $done ]] && add_timing "  poweroff" $((end - done))
  return 0
}

# at_least RELEASE MAJOR.MINOR: true if kernel RELEASE is that version or newer.
at_least() {
  local have want
  have=$(printf '%s' "$1" | sed -E 's/^([0-9]+)\.([0-9]+).*/\1 \2/')
  want=${2/./ }
  # shellcheck disable=SC2086 # word splitting into major and minor is the point
  (($(printf '%d * 1000 + %d' $have) >= $(printf '%d * 1000 + %d' $want)))
}

# What capabilities() must say on kernel RELEASE, as JSON in its key order:
# each feature from the version that brought it, waits in Node's loop, and
# killOnExit wherever there are pidfds.
expected_capabilities() {
  local feature version json=''
  for feature in pidfd:5.3 groupSignal:6.9 exitInfo:6.15 pidfdInfo:6.13 pidfs:6.9; do
    version=${feature#*:}
    if at_least "$1" "$version"; then json+=",\"${feature%%:*}\":true"; else json+=",\"${feature%%:*}\":false"; fi
  done
  # killOnExit needs pidfds alone (and the guardian, copied beside the binding).
  if at_least "$1" 5.3; then json+=',"waitPath":"libuv","killOnExit":true'; else json+=',"waitPath":"libuv","killOnExit":false'; fi
  # The VMs load the native binding, never the portable backend.
  json+=',"backend":"native"'
  printf '{%s}' "${json#,}"
}

# verdict VERSION: checks one kernel's console, lists its skipped tests and
# failures, and prints its summary line on stdout. Fails if anything failed.
verdict() {
  local version=$1 dir="$CACHE/$1" release caps expected tap passed skipped failed ok=0
  release=$(cat "$dir/release")
  caps=$(sed -n 's/^KERNEL-CAPABILITIES: //p' "$dir/console.log" | head -n1)
  expected=$(expected_capabilities "$release")
  tap=$(sed -n '/^KERNEL-TAP-BEGIN$/,/^KERNEL-TAP-END:/p' "$dir/console.log")
  passed=$(grep -Ec '^ok [0-9]+ ' <<<"$tap" || true)
  skipped=$(grep -Ec '^ok [0-9]+ .*# SKIP' <<<"$tap" || true)
  failed=$(grep -Ec '^not ok' <<<"$tap" || true)
  passed=$((passed - skipped))
  log "on $release:"
  grep -E '^ok [0-9]+ .*# SKIP|^not ok' <<<"$tap" | sed 's/^/    /' >&2 || true

  if [[ $caps != "$expected" ]]; then
    log "error: on $release capabilities() is ${caps:-(nothing)}, expected $expected"
    ok=1
  fi
  if ! grep -q '^KERNEL-TAP-END: ava exited 0,' <<<"$tap"; then
    log "error: on $release $(grep '^KERNEL-TAP-END:' <<<"$tap" || echo 'the suite did not finish')"
    ok=1
  fi
  if ((passed == 0 || failed > 0)); then ok=1; fi
  printf 'kernel %s: %s — %d passed, %d skipped, %d failed\n' "$release" \
    "$(sed -E 's/[{}"]//g; s/:/=/g; s/,/ /g' <<<"${caps:-$expected (not reported)}")" "$passed" "$skipped" "$failed"
  return "$ok"
}

main() {
  local version
  for version in "$@"; do
    [[ -n ${KERNEL_SUITES[$version]:-} ]] || die "usage: bash scripts/kernels.sh [${KERNELS[*]}]... (KERNELS_TIMEOUT=seconds bounds it)"
  done
  (($#)) || set -- "${KERNELS[@]}"
  require_root_x86_64 apt-get
  [[ -f $ARTIFACT ]] || die "no $(basename "$ARTIFACT"): run 'npm run build' first"
  [[ -x $GUARDIAN ]] || die "no $(basename "$GUARDIAN"): run 'npm run build' first"
  local newer
  newer=$(find "$ROOT/src" "$ROOT/Cargo.toml" "$ROOT/Cargo.lock" -newer "$ARTIFACT" -type f 2>/dev/null | head -n3 | sed "s|^$ROOT/||" | tr '\n' ' ')
  [[ -z $newer ]] || log "warning: $(basename "$ARTIFACT") is older than ${newer}- testing it as built"

  start_clock "${KERNELS_TIMEOUT:-1440}"
  mkdir -p "$CACHE"

  run_phase apt 300
  run_phase download 180 "$@"
  run_phase initramfs 120

  for version in "$@"; do
    run_phase vm "$VM_BUDGET" "$version"
  done

  local summaries=() failed=0 line
  for version in "$@"; do
    line=$(verdict "$version") || failed=1
    summaries+=("$line")
  done
  printf '%s\n' "${summaries[@]}"
  ((failed == 0)) || die "the suite failed on a kernel (consoles: ${CACHE#"$ROOT"/}/VERSION/console.log)"
}

phases_main "$@"
