#!/usr/bin/env bash
# `npm run test:coreutils`: GNU coreutils' own tests of timeout(1), run
# against `kill-target timeout`.
#
# The tests come from Debian's source package of the coreutils installed
# here, fetched at run time (apt-get source, with a deb-src line of the
# Debian archive, in a private apt state so that the system's package lists
# are not touched) and never kept in this repository. Each test runs twice,
# with a `timeout` first on PATH:
#   gnu   the installed GNU timeout, the build of that very source, to know
#         which tests pass there;
#   ours  a `timeout` that runs `kill-target timeout`.
# It prints a table, and exits non-zero if a test that GNU's build passes
# fails (or is skipped) with ours. The tests that cannot pass with ours, and
# why, are listed in docs/timeout.md.
#
# Needs Debian (or a derivative), perl, a C compiler (for a stand-in of
# coreutils' test helper getlimits) and Node. Environment:
#   COREUTILS_TESTS  the tests to run, as paths in the source tree (default:
#                    every test named for timeout, and every test that says
#                    it exercises timeout)
#   KEEP=1           keep the work directory
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/apt.sh
. scripts/apt.sh

command -v dpkg-query >/dev/null || die "needs Debian's dpkg and apt to fetch coreutils' source"
command -v cc >/dev/null || apt_install gcc libc6-dev
command -v perl >/dev/null || apt_install perl

version=$(dpkg-query -W -f='${Version}' coreutils)
upstream=${version#*:}
upstream=${upstream%-*}
gnu_timeout=$(command -v timeout) || die "no GNU timeout on PATH"
"$gnu_timeout" --version | head -1 | grep -q "(GNU coreutils) $upstream\$" ||
  die "$gnu_timeout is not GNU coreutils $upstream, the installed package's version"

work=$(mktemp -d "${TMPDIR:-/tmp}/coreutils-timeout.XXXXXX")
cleanup() { if [[ ${KEEP:-} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

# --- the source, through a private apt state -------------------------------
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ -n $codename ]] || die "no VERSION_CODENAME in /etc/os-release"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/source"
cat >"$work/apt/sources.list" <<EOF
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian $codename-updates main
deb-src http://deb.debian.org/debian-security $codename-security main
EOF
apt_private=(-o "Dir::Etc::SourceList=$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o APT::Sandbox::User=root)
log "fetching Debian's source of coreutils $version ($codename)"
apt-get "${apt_private[@]}" update -qq
(cd "$work/source" && apt-get "${apt_private[@]}" source -qq --download-only "coreutils=$version" >/dev/null)
orig=$(echo "$work"/source/coreutils_"$upstream".orig.tar.*)
[[ -f $orig ]] || die "no upstream tarball of coreutils $upstream among $(ls "$work/source")"
tar -xf "$orig" -C "$work/source"
src="$work/source/coreutils-$upstream"
[[ -f $src/tests/init.sh ]] || die "no tests/init.sh in $src"

# --- the tests --------------------------------------------------------------
if [[ -n ${COREUTILS_TESTS:-} ]]; then
  read -r -a tests <<<"$COREUTILS_TESTS"
else
  mapfile -t tests < <(cd "$src" && {
    ls tests/timeout/*.sh tests/misc/timeout*.sh tests/misc/timeout*.pl 2>/dev/null || true
    grep -lE '^print_ver_ .*\btimeout\b' tests/*/*.sh || true
  } | sort -u)
fi
((${#tests[@]} > 0)) || die "no timeout tests found in coreutils $upstream"

# --- two build trees: src/timeout is GNU's, or ours --------------------------
# getlimits, a test helper coreutils builds but does not install: a stand-in
# that prints the same limits of this machine's C types.
mkdir -p "$work/getlimits"
cat >"$work/getlimits/getlimits.c" <<'EOF'
#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* A decimal string one greater in magnitude. */
static void print_plus_one(const char *name, const char *suffix, const char *digits) {
  char buf[64];
  size_t n = strlen(digits);
  int neg = digits[0] == '-';
  strcpy(buf + 1, digits + neg);
  buf[0] = '0';
  size_t i = n - neg;
  while (i > 0 && buf[i] == '9') buf[i--] = '0';
  buf[i]++;
  printf("%s_%s=%s%s\n", name, suffix, neg ? "-" : "", buf[0] == '0' ? buf + 1 : buf);
}
#define INT(NAME, MAX, MIN, FMT, TYPE)                                  \
  do {                                                                  \
    char s[64];                                                         \
    snprintf(s, sizeof s, FMT, (TYPE)(MAX));                            \
    printf(#NAME "_MAX=%s\n", s);                                       \
    print_plus_one(#NAME, "OFLOW", s);                                  \
    if ((MIN) != 0) {                                                   \
      snprintf(s, sizeof s, FMT, (TYPE)(MIN));                          \
      printf(#NAME "_MIN=%s\n", s);                                     \
      print_plus_one(#NAME, "UFLOW", s);                                \
    }                                                                   \
  } while (0)
/* The shortest decimal that reads back as the same long double. */
static void print_ld(const char *name, long double x) {
  char s[80];
  for (int prec = 1; prec < 40; prec++) {
    snprintf(s, sizeof s, "%.*Lg", prec, x);
    if (strtold(s, NULL) == x) break;
  }
  printf("%s=%s\n", name, s);
}
int main(void) {
  INT(CHAR, CHAR_MAX, CHAR_MIN, "%jd", intmax_t);
  INT(SCHAR, SCHAR_MAX, SCHAR_MIN, "%jd", intmax_t);
  INT(UCHAR, UCHAR_MAX, 0, "%ju", uintmax_t);
  INT(SHRT, SHRT_MAX, SHRT_MIN, "%jd", intmax_t);
  INT(INT, INT_MAX, INT_MIN, "%jd", intmax_t);
  INT(UINT, UINT_MAX, 0, "%ju", uintmax_t);
  INT(LONG, LONG_MAX, LONG_MIN, "%jd", intmax_t);
  INT(ULONG, ULONG_MAX, 0, "%ju", uintmax_t);
  INT(SIZE, SIZE_MAX, 0, "%ju", uintmax_t);
  INT(SSIZE, SSIZE_MAX, -SSIZE_MAX - 1, "%jd", intmax_t);
  INT(TIME_T, (time_t)((((uintmax_t)1 << (sizeof(time_t) * 8 - 2)) - 1) * 2 + 1), -(time_t)((((uintmax_t)1 << (sizeof(time_t) * 8 - 2)) - 1) * 2 + 1) - 1, "%jd", intmax_t);
  INT(UID_T, (uid_t)-1, 0, "%ju", uintmax_t);
  INT(GID_T, (gid_t)-1, 0, "%ju", uintmax_t);
  INT(PID_T, INT_MAX, INT_MIN, "%jd", intmax_t);
  INT(OFF_T, INT64_MAX, INT64_MIN, "%jd", intmax_t);
  INT(INTMAX, INTMAX_MAX, INTMAX_MIN, "%jd", intmax_t);
  INT(UINTMAX, UINTMAX_MAX, 0, "%ju", uintmax_t);
  print_ld("FLT_MIN", FLT_MIN); print_ld("FLT_MAX", FLT_MAX);
  print_ld("DBL_MIN", DBL_MIN); print_ld("DBL_MAX", DBL_MAX);
  print_ld("LDBL_MIN", LDBL_MIN); print_ld("LDBL_MAX", LDBL_MAX);
  printf("IO_BUFSIZE=%d\n", 128 * 1024);
  return 0;
}
EOF
cc -O -o "$work/getlimits/getlimits" "$work/getlimits/getlimits.c"

node=$(command -v node)
for build in gnu ours; do
  mkdir -p "$work/$build/src"
  cp "$work/getlimits/getlimits" "$work/$build/src/getlimits"
done
ln -s "$gnu_timeout" "$work/gnu/src/timeout"
printf '#!/bin/sh\nexec %q %q timeout "$@"\n' "$node" "$ROOT/cli.js" >"$work/ours/src/timeout"
chmod +x "$work/ours/src/timeout"

# One test, as coreutils' `make check` runs it (tests/local.mk's
# TESTS_ENVIRONMENT); its status: 0 pass, 77 skip, anything else fail.
run_test() {
  local build=$1 test=$2 dir=$work/$1
  local log_file=$work/logs/$build/${test//\//-}.log
  mkdir -p "$work/logs/$build"
  local -a runner=(/bin/bash "$src/$test")
  if [[ $test == *.pl ]]; then
    # Its temporary directory goes beside where the test would be.
    mkdir -p "$dir/$(dirname "$test")"
    runner=(perl -w -I"$src/tests" -MCuSkip -MCoreutils "-MCuTmpdir qw($test)" "$src/$test")
  fi
  (
    cd "$dir"
    export LC_ALL=C LANG=C LANGUAGE=C
    export VERSION=$upstream PACKAGE_VERSION=$upstream abs_top_builddir=$dir abs_top_srcdir=$src
    export abs_srcdir=$src srcdir=$src top_srcdir=$src fail=0 host_os=linux-gnu
    export built_programs="timeout env seq test printf sleep" CU_TEST_NAME="${test//\//-}"
    export CC=cc AWK=awk EGREP='grep -E' EXEEXT='' MAKE=make PERL=perl SHELL=/bin/bash
    export PATH="$dir/src:$PATH" CONFIG_HEADER=/dev/null
    "$gnu_timeout" -k 10 300 "${runner[@]}"
  ) >"$log_file" 2>&1 9>&2 </dev/null
}

verdict() {
  case $1 in
  0) echo PASS ;;
  77) echo SKIP ;;
  *) echo "FAIL($1)" ;;
  esac
}

log "coreutils $upstream: ${#tests[@]} tests, against $gnu_timeout, then kill-target timeout"
regressions=()
printf '\n%-40s %-10s %-10s\n' "test (coreutils $upstream)" "GNU" "kill-target"
for test in "${tests[@]}"; do
  gnu=0 ours=0
  run_test gnu "$test" || gnu=$?
  run_test ours "$test" || ours=$?
  printf '%-40s %-10s %-10s\n' "$test" "$(verdict "$gnu")" "$(verdict "$ours")"
  if ((gnu == 0 && ours != 0)); then regressions+=("$test"); fi
done
echo
if ((${#regressions[@]} > 0)); then
  for test in "${regressions[@]}"; do
    log "$test passes with GNU's build and not with kill-target timeout; its log:"
    sed 's/^/    /' "$work/logs/ours/${test//\//-}.log" | tail -40 >&2
  done
  die "${#regressions[@]} of the tests GNU's build passes fail with kill-target timeout"
fi
log "every test GNU's build passes passes with kill-target timeout"
