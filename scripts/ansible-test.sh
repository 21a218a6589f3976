#!/usr/bin/env bash
# Run ansible-test on a copy of the collection laid out as ansible_collections/djangoops/fleet,
# which is where ansible-test requires a collection to be. Usage: scripts/ansible-test.sh sanity|units
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tree="$top/.cache/ansible-test/ansible_collections/djangoops/fleet"

# ansible-test bootstraps pip in its venvs with a script it downloads from a host this machine
# cannot reach; its documented remedy is a script saved at this cache path.
pip_version=24.2  # the pip that ansible-core 2.19's ansible-test bootstraps
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
[ -f "$cache" ] || { mkdir -p "$(dirname "$cache")"; cp "$top/scripts/get-pip-standin.py" "$cache"; }

rm -rf "$tree"
mkdir -p "$tree"
# Tracked files plus new ones not ignored: what a commit of the work tree would hold.
(cd "$top" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' | tar --null -T - -cf -) \
  | tar -C "$tree" -xf -
cd "$tree"
git init -q && git add -A
exec ansible-test "$1" --python 3.11 --requirements --color "${@:2}"
