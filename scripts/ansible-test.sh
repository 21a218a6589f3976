#!/usr/bin/env bash
# Run ansible-test on a copy of the collection laid out as ansible_collections/djangoops/fleet,
# which is where ansible-test requires a collection to be. Usage: scripts/ansible-test.sh sanity|units [args]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
root="$top/.cache/ansible-test"
tree="$root/ansible_collections/djangoops/fleet"
command=$1
shift

# ansible-test bootstraps pip in its venvs with a script it downloads from a host this machine
# cannot reach; its documented remedy is a script saved at this cache path.
pip_version=24.2  # the pip that ansible-core 2.19's ansible-test bootstraps
cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
[ -f "$cache" ] || { mkdir -p "$(dirname "$cache")"; cp "$top/scripts/get-pip-standin.py" "$cache"; }

rm -rf "$tree"
mkdir -p "$tree"
# Tracked files plus new ones not ignored, less those deleted: what a commit of the work tree would hold.
(cd "$top" && git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' path; do [ ! -e "$path" ] || printf '%s\0' "$path"; done \
  | tar --null -T - -cf -) \
  | tar -C "$tree" -xf -

# ansible-test only sees the collections in its own root. The unit tests run the roles, whose
# handlers name community.docker modules, so every collection galaxy.yml depends on is linked
# there from the ansible bundle that runs this script (requirements.txt pins it), where
# `ansible-galaxy collection install` would put it.
"$(dirname "$(command -v ansible-test)")/python" - "$tree/galaxy.yml" "$root/ansible_collections" <<'EOF'
import json
import os
import subprocess
import sys

import yaml

galaxy_yml, collections_dir = sys.argv[1:]
with open(galaxy_yml, encoding="utf-8") as handle:
    dependencies = yaml.safe_load(handle).get("dependencies") or {}
for fqcn in dependencies:
    listing = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-galaxy"), "collection", "list", fqcn, "--format", "json"],
        capture_output=True, text=True, check=False,
    )
    # Search paths in Ansible's order; the first one holding the collection is the one in use.
    found = [path for path, collections in json.loads(listing.stdout or "{}").items() if fqcn in collections]
    if not found:
        sys.exit("%s (a dependency in galaxy.yml) is not installed: %s" % (fqcn, listing.stderr.strip()))
    namespace, name = fqcn.split(".")
    link = os.path.join(collections_dir, namespace, name)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.islink(link):
        os.unlink(link)
    os.symlink(os.path.join(found[0], namespace, name), link)
EOF

args=(--python 3.11 --requirements --color)
if [ "$command" = units ]; then
  # In ansible-test's own venv (tests/unit/requirements.txt), never the project's pinned .venv,
  # which ansible-test would otherwise install pytest-xdist, pytest-mock and mock into. The tests
  # that need the project's venv are excluded by the caller (`make units`) and run by `make unit`.
  args+=(--venv)
fi

cd "$tree"
git init -q && git add -A
exec ansible-test "$command" "${args[@]}" "$@"
