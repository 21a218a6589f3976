#!/usr/bin/env bash
# Run lab checks (molecule/default/tests) against the running lab, as molecule's verify step does,
# without a molecule run around them. The lab is created and converged first when it is not running.
#   scripts/verify.sh [pytest arguments...]      (`make verify T=<file> K=<expression> M=<marker>`)
# Checks are marked `readonly` (any order, any number of times) or `changes_lab` (they change the lab
# and put it back in their fixtures).
set -euo pipefail
cd "$(dirname "$0")/.."

lab_running() {
  local name
  for name in djangoops-lab-proxy1 djangoops-lab-app1 djangoops-lab-client; do
    [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || return 1
  done
}

if ! lab_running; then
  echo "==> No running lab: creating it and converging it with playbooks/site.yml"
  make --no-print-directory lab-up converge
fi

# Playbooks the checks run find the collection as `make converge` does (ansible.cfg, the source tree).
export ANSIBLE_CONFIG="$PWD/ansible.cfg" MOLECULE_PROJECT_DIRECTORY="$PWD"
exec scripts/run-pytest.sh -p no:cacheprovider --sudo -r fE "$@"
