# shellcheck shell=bash
# The phase runner shared by the drivers scripts/arm64.sh, scripts/kernels.sh
# and scripts/musl.sh; sourced by them, never run. It sources apt.sh (log,
# die, apt_ensure and the other apt helpers). A driver sources it first,
# then sets its own settings and defines its phase_NAME functions, and ends
# with `phases_main "$@"`; its main() then calls start_clock and run_phase.
#
# Why phases run in a child: every phase runs under `timeout` with the
# smaller of its own budget and what is left of the driver's total, so a hung
# apt, cargo or qemu can never hold CI past the limit. `timeout` can only
# run a program, so run_phase re-runs the driver as `bash DRIVER __phase
# NAME`, which sources this file and the driver's settings again and calls
# phase_NAME alone (phases_main): a phase can rely only on what the driver
# and this file define at the top level, not on what main() set.
#
# Settings, set by the driver after sourcing this file:
#   KILL_AFTER    seconds `timeout` waits after its TERM before KILL (required)
#   TIMING_WIDTH  width of the name column in the timings summary (required)
#   APT_OPTS, LOG_TAG  as apt.sh says
# Hook: on_phase_end NAME START_MS END_MS ARG..., called after each phase
# (whether it passed or not) before its failure is reported; a no-op unless
# the driver defines its own.

# The driver's own path (bash DRIVER re-runs it) and the repository root
# (which only the drivers use).
SELF=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)/$(basename "${BASH_SOURCE[1]}")
# shellcheck disable=SC2034
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# shellcheck source-path=SCRIPTDIR source=apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

now_ms() { date +%s%3N; }
fmt_ms() { printf '%d.%01ds' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# require_root_x86_64 WHY: the drivers install with apt and are written for
# an amd64 Debian host; WHY says what needs root.
require_root_x86_64() {
  [[ $(id -u) == 0 ]] || die "needs root ($1)"
  [[ $(uname -m) == x86_64 ]] || die "written for an x86_64 host, this is $(uname -m)"
}

# ---------------------------------------------------------------- driver ---

DEADLINE=0
START_MS=0
TIMINGS=()

on_phase_end() { :; }

# start_clock SECONDS: the total budget starts now; the timings are
# reported however the driver exits.
start_clock() {
  START_MS=$(now_ms)
  DEADLINE=$(($(date +%s) + $1))
  trap report_timings EXIT
}

# add_timing NAME MS: a row of the timings summary.
add_timing() {
  TIMINGS+=("$(printf "%-${TIMING_WIDTH:?set by the driver}s %8s" "$1" "$(fmt_ms "$2")")")
}

# run_phase NAME BUDGET_SECONDS [ARG...]: runs `phase_NAME ARG...` in a
# child bash under `timeout`, bounded by its budget and by what is left
# before DEADLINE. `timeout` gives the child its own process group and kills
# the whole group, so cargo's rustc, qemu and their children go too. The
# phase is reported as "NAME ARG...", so one phase run for several things
# (a VM per kernel) has a timing row for each.
run_phase() {
  local name=$1 budget=$2 label left limit start rc=0
  shift 2
  label="$name${*:+ $*}"
  left=$((DEADLINE - $(date +%s)))
  ((left > 0)) || die "out of time before phase $label"
  limit=$((budget < left ? budget : left))
  log "phase $label (limit ${limit}s)"
  start=$(now_ms)
  timeout --kill-after="${KILL_AFTER:?set by the driver}" "$limit" bash "$SELF" __phase "$name" "$@" || rc=$?
  add_timing "$label" $(($(now_ms) - start))
  on_phase_end "$name" "$start" "$(now_ms)" "$@"
  if ((rc == 124 || rc == 137)); then
    die "phase $label timed out after ${limit}s"
  elif ((rc != 0)); then
    die "phase $label failed (exit $rc)"
  fi
}

report_timings() {
  ((${#TIMINGS[@]})) || return 0
  log "timings:"
  local t
  for t in "${TIMINGS[@]}"; do log "  $t"; done
  log "  $(printf "%-${TIMING_WIDTH}s %8s" total "$(fmt_ms $(($(now_ms) - START_MS)))")"
}

# The last line of a driver: `bash DRIVER __phase NAME ARG...` (run_phase's
# child) runs `phase_NAME ARG...`; anything else goes to the driver's main.
phases_main() {
  if [[ ${1:-} == __phase ]]; then
    "phase_$2" "${@:3}"
    return
  fi
  main "$@"
}
