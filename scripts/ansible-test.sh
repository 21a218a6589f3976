#!/usr/bin/env bash
# Run ansible-test on a copy of the collection laid out as ansible_collections/djangoops/fleet,
# which is where ansible-test requires a collection to be, with the ansible-core of one venv (one
# supported core: .venv the newest, .venv-oldest the oldest; the Makefile's CORES).
# Usage: scripts/ansible-test.sh VENV sanity|units [args]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
venv=$(cd "$1" && pwd)
command=$2
shift 2
bin="$venv/bin"
[ -x "$bin/ansible-test" ] || { echo "$venv has no ansible-test: build it first (make venv, make venv-oldest)" >&2; exit 1; }
# ansible-test runs on the venv's own Python; each venv gets its own copy of the tree, so the cores
# can run side by side.
python_version=$("$bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
root="$top/.cache/ansible-test/$(basename "$venv")"
tree="$root/ansible_collections/djangoops/fleet"

# ansible-test bootstraps pip in its venvs with a script it downloads from a host this machine
# cannot reach; its documented remedy is a script saved at this cache path, named after the pip
# version this ansible-test pins (24.2 for ansible-core 2.19, 25.2 for 2.21).
pip_version=$("$bin/python" -c '
import pathlib, re, ansible_test
source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"pip=.([0-9.]+).", source.read_text(encoding="utf-8")).group(1))
')
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
# there from the venv's ansible bundle (requirements.txt, requirements-oldest.txt pin it), where
# `ansible-galaxy collection install` would put it.
"$bin/python" - "$tree/galaxy.yml" "$root/ansible_collections" <<'EOF'
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

args=(--python "$python_version" --requirements --color)
if [ "$command" = units ]; then
  # In ansible-test's own venv (tests/unit/requirements.txt), never the project's pinned .venv,
  # which ansible-test would otherwise install pytest-xdist, pytest-mock and mock into. The tests
  # that need the project's venv are excluded by the caller (`make units`) and run by `make unit`.
  args+=(--venv)
fi

cd "$tree"
git init -q && git add -A
# ansible-test and the tools it starts are the venv's.
export PATH="$bin:$PATH"
exec "$bin/ansible-test" "$command" "${args[@]}" "$@"
