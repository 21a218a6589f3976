#!/usr/bin/env bash
# `make test`: the static checks (unit tests, ansible-lint, ansible-test sanity and units) run in the
# background while the lab's images are built and the lab is created, converged and converged again
# (work that mostly waits on SSH, containers and the network); the lab checks (molecule verify) start
# once both are done, with the machine's cores to themselves. Any failure stops the run and destroys
# the lab, as `molecule test` would.
set -euo pipefail
cd "$(dirname "$0")/.."

log=.cache/static-checks.log
mkdir -p .cache
say() { printf '\n==> %s\n' "$1"; }

say "Static checks (unit, lint, sanity, units) in the background: $log"
make --no-print-directory unit lint sanity units >"$log" 2>&1 &
static=$!

destroy_lab() { molecule destroy --scenario-name default >/dev/null 2>&1 || true; }
on_failure() {
  kill "$static" 2>/dev/null || true
  destroy_lab
}
trap on_failure ERR INT TERM

make --no-print-directory images collection
say "Molecule default scenario: destroy a stale lab, create, converge, idempotence"
molecule destroy --scenario-name default
molecule create --scenario-name default
molecule converge --scenario-name default
molecule idempotence --scenario-name default

say "Waiting for the static checks"
if ! wait "$static"; then
  cat "$log"
  say "Static checks failed (output above, also in $log)"
  destroy_lab
  exit 1
fi
cat "$log"

say "Molecule default scenario: verify (the lab checks), destroy"
molecule verify --scenario-name default
trap - ERR INT TERM
molecule destroy --scenario-name default
