#!/usr/bin/env bash
# `npm run test:coreutils`: GNU coreutils' own tests of timeout(1), run
# against `kill-target timeout`.
#
# The tests come from Debian's source package of coreutils, fetched at run
# time (apt-get source, with a deb-src line of the Debian archive, in a
# private apt state so that the system's package lists are not touched) and
# never kept in this repository. By default the source is unstable's, GNU's
# latest release (tests/timeout/, tests/env/env-signal-handler.sh, ...).
# Each test runs twice, with a `timeout` first on PATH:
#   gnu   GNU's timeout built from that very source (configure, then make
#         src/timeout; cached under node_modules/.cache), or the installed
#         one where it is of the same version, to know which tests pass
#         there;
#   ours  a `timeout` that runs `kill-target timeout`.
# It prints a table, and exits non-zero if a test that GNU's build passes
# fails (or is skipped) with ours. The tests that cannot pass with ours, and
# why, are listed in docs/timeout.md; they are run and shown, and listed in
# EXPECTED_FAILURES below, which must hold exactly those.
#
# Needs Debian (or a derivative), perl, make and a C compiler (installed
# with apt-get where missing) and Node. Environment:
#   COREUTILS_SUITE  the Debian suite whose source to test (default
#                    unstable). kill-target timeout follows GNU's latest
#                    release where wording changed: coreutils 9.1's
#                    timeout.sh expects signal 0 named EXIT, as 9.1 named
#                    it; later releases, and kill-target, say 0.
#   COREUTILS_TESTS  the tests to run, as paths in the source tree (default:
#                    every test named for timeout, and every test that says
#                    it exercises timeout)
#   RETRIES          how many times a test that fails with kill-target
#                    timeout is run again (default 2): GNU's tests give a
#                    started timeout seconds to take its first signal, and
#                    Node can take longer to start on a machine under load
#   KEEP=1           keep the work directory
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source-path=SCRIPTDIR source=apt.sh
. scripts/apt.sh

# Tests GNU's build passes that `kill-target timeout` cannot, each for a
# reason Node imposes (docs/timeout.md says which and why), with the sed
# script that takes out of the test exactly the checks it cannot pass: the
# rest must then pass, run from a copy.
declare -A EXPECTED_FAILURES=(
  # `(trap '' PIPE && timeout 10 yes | :)`: an ignored SIGPIPE passed on.
  [tests/timeout/timeout.sh]="/trap '' PIPE && timeout 10 yes/,+1d"
  # Its first step probes the same, through timeout, and skips without it.
  [tests/env/env-signal-handler.sh]='/^trap_sigpipe_or_skip_$/d'
)

command -v apt-get >/dev/null || die "needs Debian's apt to fetch coreutils' source"
missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v make >/dev/null || missing+=(make)
command -v perl >/dev/null || missing+=(perl)
((${#missing[@]} == 0)) || apt_install "${missing[@]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/coreutils-timeout.XXXXXX")
cleanup() { if [[ ${KEEP:-} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

# --- the source, through a private apt state -------------------------------
suite=${COREUTILS_SUITE:-unstable}
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/source"
printf 'deb-src http://deb.debian.org/debian %s main\n' "$suite" >"$work/apt/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$work/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o APT::Sandbox::User=root)
apt-get "${apt_private[@]}" update -qq
version=$(apt-cache "${apt_private[@]}" showsrc coreutils | sed -n 's/^Version: //p' | sort -V | tail -1)
[[ -n $version ]] || die "no coreutils source in Debian's $suite"
log "fetching Debian's source of coreutils $version ($suite)"
(cd "$work/source" && apt-get "${apt_private[@]}" source -qq --download-only "coreutils=$version" >/dev/null)
upstream=${version#*:}
upstream=${upstream%-*}
orig=$(ls "$work"/source/coreutils_"$upstream".orig.tar.* | grep -v '\.asc$' | head -1)
[[ -f $orig ]] || die "no upstream tarball of coreutils $upstream among $(ls "$work/source")"
tar -xf "$orig" -C "$work/source"
src="$work/source/coreutils-$upstream"
[[ -f $src/tests/init.sh ]] || die "no tests/init.sh in $src"

# --- GNU's build of that source ----------------------------------------------
gnu_timeout=$(command -v timeout || true)
if [[ -n $gnu_timeout ]] && "$gnu_timeout" --version 2>/dev/null | head -1 | grep -q "(GNU coreutils) $upstream\$"; then
  log "GNU's build: $gnu_timeout, coreutils $upstream as installed"
  config_header=/dev/null
  getlimits=
else
  cache=$ROOT/node_modules/.cache/kill-target-coreutils/$upstream
  if [[ ! -x $cache/src/timeout || ! -x $cache/src/getlimits ]]; then
    log "building GNU's timeout from coreutils $upstream (configure, make src/timeout; a few minutes)"
    rm -rf "$cache"
    mkdir -p "$(dirname "$cache")"
    cp -a "$src" "$cache"
    (cd "$cache" && FORCE_UNSAFE_CONFIGURE=1 ./configure --quiet --disable-nls --without-selinux \
      --without-libgmp --without-openssl >configure.out 2>&1 &&
      # The headers gnulib generates first (make all would build them),
      # then the two programs alone.
      make -j"$(nproc)" $(printf 'built-sources:\n\t@echo $(BUILT_SOURCES)\n' | make -s -f Makefile -f - built-sources) >make.out 2>&1 &&
      make -j"$(nproc)" src/timeout src/getlimits >>make.out 2>&1) ||
      { tail -20 "$cache"/configure.out "$cache"/make.out >&2 2>/dev/null; rm -rf "$cache"; die "building coreutils $upstream failed"; }
  fi
  gnu_timeout=$cache/src/timeout
  config_header=$cache/lib/config.h
  getlimits=$cache/src/getlimits
  log "GNU's build: $gnu_timeout"
fi
"$gnu_timeout" --version | head -1 | grep -q "(GNU coreutils) $upstream\$" || die "$gnu_timeout is not GNU coreutils $upstream"

# --- the tests --------------------------------------------------------------
if [[ -n ${COREUTILS_TESTS:-} ]]; then
  read -r -a tests <<<"$COREUTILS_TESTS"
else
  mapfile -t tests < <(cd "$src" && {
    ls tests/timeout/*.sh tests/timeout/*.pl tests/misc/timeout*.sh tests/misc/timeout*.pl 2>/dev/null || true
    grep -lE '^print_ver_ .*\btimeout\b' tests/*/*.sh || true
  } | sort -u)
fi
((${#tests[@]} > 0)) || die "no timeout tests found in coreutils $upstream"

# --- two build trees: src/timeout is GNU's, or ours --------------------------
# getlimits, a test helper coreutils builds but does not install: built
# with GNU's timeout, or, beside the installed timeout, a stand-in that
# prints the same limits of this machine's C types.
if [[ -z $getlimits ]]; then
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
getlimits=$work/getlimits/getlimits
fi

node=$(command -v node)
for build in gnu ours; do
  mkdir -p "$work/$build/src"
  cp "$getlimits" "$work/$build/src/getlimits"
done
ln -s "$gnu_timeout" "$work/gnu/src/timeout"
printf '#!/bin/sh\nexec %q %q timeout "$@"\n' "$node" "$ROOT/cli.js" >"$work/ours/src/timeout"
chmod +x "$work/ours/src/timeout"

# One test, as coreutils' `make check` runs it (tests/local.mk's
# TESTS_ENVIRONMENT); its status: 0 pass, 77 skip, anything else fail.
# With a third argument, a copy of the test edited by that sed script.
run_test() {
  local build=$1 test=$2 dir=$work/$1 file=$src/$2 log_name=${2//\//-}
  if [[ -n ${3:-} ]]; then
    file=$work/edited/$test
    mkdir -p "$(dirname "$file")"
    sed -e "$3" "$src/$test" >"$file"
    log_name=$log_name.edited
  fi
  local log_file=$work/logs/$build/$log_name.log
  mkdir -p "$work/logs/$build"
  local -a runner=(/bin/bash "$file")
  if [[ $test == *.pl ]]; then
    # Its temporary directory goes beside where the test would be.
    mkdir -p "$dir/$(dirname "$test")"
    runner=(perl -w -I"$src/tests" -MCuSkip -MCoreutils "-MCuTmpdir qw($test)" "$file")
  fi
  (
    cd "$dir"
    export LC_ALL=C LANG=C LANGUAGE=C
    export VERSION=$upstream PACKAGE_VERSION=$upstream abs_top_builddir=$dir abs_top_srcdir=$src
    export abs_srcdir=$src srcdir=$src top_srcdir=$src fail=0 host_os=linux-gnu
    export built_programs="timeout env seq test printf sleep" CU_TEST_NAME="${test//\//-}"
    export CC=cc AWK=awk EGREP='grep -E' EXEEXT='' MAKE=make PERL=perl SHELL=/bin/bash
    export PATH="$dir/src:$PATH" CONFIG_HEADER=$config_header
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

log "coreutils $upstream: ${#tests[@]} tests, against GNU's build, then kill-target timeout"
regressions=()
unexpected=()
printf '\n%-44s %-10s %-10s\n' "test (coreutils $upstream)" "GNU" "kill-target"
for test in "${tests[@]}"; do
  gnu=0 ours=0 edited=0
  run_test gnu "$test" || gnu=$?
  run_test ours "$test" || ours=$?
  note=
  # The tests give a started timeout a few seconds to take its signals;
  # Node's startup on a loaded machine can take longer. A failure is run
  # again, up to RETRIES times, and the table says so.
  for ((retry = 1; gnu == 0 && ours != 0 && retry <= ${RETRIES:-2}; retry++)); do
    if ! [[ -v EXPECTED_FAILURES[$test] ]]; then
      ours=0
      run_test ours "$test" || ours=$?
      note="(run $((retry + 1)) times)"
    fi
  done
  if [[ -v EXPECTED_FAILURES[$test] ]]; then
    run_test ours "$test" "${EXPECTED_FAILURES[$test]}" || edited=$?
    note="expected (docs/timeout.md); without those checks: $(verdict "$edited")"
    for ((retry = 1; gnu == 0 && edited != 0 && retry <= ${RETRIES:-2}; retry++)); do
      edited=0
      run_test ours "$test" "${EXPECTED_FAILURES[$test]}" || edited=$?
      note="expected (docs/timeout.md); without those checks: $(verdict "$edited") (run $((retry + 1)) times)"
    done
    if ((ours == 0)); then unexpected+=("$test"); fi
    if ((gnu == 0 && edited != 0)); then regressions+=("$test"); fi
  elif ((gnu == 0 && ours != 0)); then
    regressions+=("$test")
  fi
  printf '%-44s %-10s %-10s %s\n' "$test" "$(verdict "$gnu")" "$(verdict "$ours")" "$note"
done
echo
for test in "${regressions[@]}" "${unexpected[@]}"; do
  log "$test: the end of kill-target timeout's run"
  tail -40 "$work/logs/ours/${test//\//-}.log" | sed 's/^/    /' >&2
done
((${#unexpected[@]} == 0)) || die "${unexpected[*]} passed with kill-target timeout: take them out of EXPECTED_FAILURES and docs/timeout.md"
((${#regressions[@]} == 0)) || die "${#regressions[@]} of the tests GNU's build passes fail with kill-target timeout: ${regressions[*]}"
log "every test GNU's build passes passes with kill-target timeout, but those docs/timeout.md explains"
