#!/usr/bin/env bash
# Run pytest and refuse a run that collected nothing (pytest's exit code 5): a suite that tests
# nothing must not pass.
set -uo pipefail
pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests in: $*" >&2
  exit 1
fi
exit "$rc"
