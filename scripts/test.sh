#!/usr/bin/env bash
# `make test`: the static checks (`make static`: unit tests, ansible-lint, ansible-test sanity and units on
# the newest core, then the same on the oldest supported core) run beside the molecule scenario instead
# of before it. They need no lab, and the scenario's lab creation, converge
# and checks leave part of the machine's cores idle (waits on containers, SSH round trips, drains),
# which the static checks, niced so the lab keeps priority, fill. Their output goes to a log that is
# shown as soon as they end; a failed static check stops the scenario at once and tears the lab down.
set -euo pipefail
cd "$(dirname "$0")/.."

log=${DJANGOOPS_STATIC_LOG:-/tmp/djangoops-static.log}
static_rc='' molecule_rc=''

# Every finished run appends a line to suite-runs.tsv (benchmarks/bench.py --only suite reads the newest):
# start, end (UTC), wall seconds, exit code, commit, CPUs. It never changes the run's exit code.
runs=${LAB_LOG_DIR:-/tmp/djangoops-lab-logs}/suite-runs.tsv
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ) started_s=$(date +%s)
# shellcheck disable=SC2317  # called from on_exit, the EXIT trap
record_run() {
  local commit
  commit=$(git rev-parse --short HEAD 2>/dev/null) || commit=-
  mkdir -p "$(dirname "$runs")"
  [ -s "$runs" ] || printf 'start\tend\tseconds\texit_code\tcommit\tnproc\n' >"$runs"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$started_at" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(($(date +%s) - started_s))" \
    "$1" "$commit" "$(nproc)" >>"$runs"
}
# shellcheck disable=SC2317  # called by the EXIT trap, which shellcheck does not follow
on_exit() {
  local rc=$?
  record_run "$rc" 2>/dev/null || echo "==> Could not record this run in $runs" >&2
  exit "$rc"
}
trap on_exit EXIT

# Each job in its own process group (job control), so either can be stopped whole.
set -m
nice -n 19 make --no-print-directory static >"$log" 2>&1 &
static=$!
make --no-print-directory molecule &
molecule=$!
set +m
# Ctrl-C or a kill reaches this script only: pass it on to both jobs.
trap 'kill -- -$static -$molecule 2>/dev/null || true' INT TERM

show_static() {
  printf '\n==> Static checks (unit, lint, sanity, units; the matrix) %s, exit code %s (%s UTC); their output (%s):\n' \
    "$1" "$static_rc" "$(date -u +%H:%M:%S)" "$log"
  cat "$log"
  printf '==> End of the static checks output\n\n'
}

while [ -z "$molecule_rc" ]; do
  if [ -z "$static_rc" ] && ! kill -0 "$static" 2>/dev/null; then
    static_rc=0; wait "$static" || static_rc=$?
    if [ "$static_rc" -ne 0 ]; then
      show_static failed
      echo "==> Stopping the molecule scenario: a static check failed"
      kill -- -"$molecule" 2>/dev/null || true
      wait "$molecule" || true
      make --no-print-directory lab-down >/dev/null 2>&1 || true
      exit "$static_rc"
    fi
    show_static passed
  fi
  if ! kill -0 "$molecule" 2>/dev/null; then
    molecule_rc=0; wait "$molecule" || molecule_rc=$?
  else
    sleep 2
  fi
done

if [ -z "$static_rc" ]; then
  static_rc=0; wait "$static" || static_rc=$?
  show_static "$([ "$static_rc" -eq 0 ] && echo passed || echo failed)"
fi
if [ "$molecule_rc" -ne 0 ]; then
  echo "==> The molecule scenario failed (exit code $molecule_rc)"
  exit "$molecule_rc"
fi
exit "$static_rc"
