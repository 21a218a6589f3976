#!/usr/bin/env bash
# Print the path of the first Python interpreter of the given minor versions found the way a fresh
# machine has them: `pythonX.Y` on PATH (a pyenv shim counts only when it runs: shims of versions
# not selected fail), else the newest patch release under pyenv's root (`pyenv root`, $PYENV_ROOT
# or ~/.pyenv). Usage: scripts/find-python.sh 3.13 3.12. Prints nothing and exits 1 when none exists.
set -uo pipefail

for version in "$@"; do
  if exe=$("python$version" -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -n "$exe" ]; then
    echo "$exe"
    exit 0
  fi
  roots=()
  if root=$(pyenv root 2>/dev/null); then roots+=("$root"); fi
  roots+=("${PYENV_ROOT:-$HOME/.pyenv}")
  for root in "${roots[@]}"; do
    # Newest patch release first: 3.13.10 before 3.13.9 (sort -V), release candidates skipped.
    for exe in $(printf '%s\n' "$root"/versions/"$version".*/bin/"python$version" | sort -rV); do
      [[ $exe =~ [0-9](a|b|rc)[0-9]+/bin/ ]] && continue
      if "$exe" -c '' 2>/dev/null; then
        echo "$exe"
        exit 0
      fi
    done
  done
done
exit 1
