# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Make ``ansible_collections.djangoops.fleet`` importable for plain ``pytest`` runs.

Collection code imports itself as ``ansible_collections.djangoops.fleet.plugins...``, which only
resolves when the checkout sits at ``<root>/ansible_collections/djangoops/fleet``. A git clone
usually does not (``/work/main`` is not), so at import time of this conftest, before any test
module is collected and imports collection code, we:

1. use the checkout's own root if it already sits in such a tree (``ansible-test units``, or a
   clone made under ``ansible_collections/djangoops/fleet``); otherwise
2. create a temporary root whose ``ansible_collections/djangoops/fleet`` is a symlink to the
   checkout, removed again when pytest exits;
3. put that root first on ``sys.path`` and install Ansible's collection loader with it as the
   first collections path, as ``ansible-playbook`` does with ``ANSIBLE_COLLECTIONS_PATH``, unless
   a loader is installed already: ``ansible-test units`` installs its own (pytest plugin
   ``ansible_pytest_collections``) before this conftest runs, and its module test context has no
   ``ansible.plugins`` to install another from.

Tests that start ``ansible-playbook`` or ``ansible-doc`` get the same root from the
``collections_root`` fixture and the executable from the ``ansible_playbook``/``ansible_doc``
fixtures: the one installed beside the interpreter running the tests (the project's venv, also
when ``ansible-test units`` runs on it), else the one on ``PATH`` (``ansible-test units --venv``
puts its own entry points there, running the ansible-core it tests with).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

NAMESPACE = "djangoops"
NAME = "fleet"
CHECKOUT = pathlib.Path(__file__).resolve().parents[2]


def _existing_root(checkout: pathlib.Path) -> pathlib.Path | None:
    """Return the collections root above ``checkout`` if it already has the right layout."""
    if (checkout.name, checkout.parent.name, checkout.parent.parent.name) == (NAME, NAMESPACE, "ansible_collections"):
        return checkout.parent.parent.parent
    return None


def _symlinked_root(checkout: pathlib.Path) -> pathlib.Path:
    """Create a temporary collections root pointing at ``checkout`` and return it."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="djangoops-fleet-collections-"))
    namespace_dir = root / "ansible_collections" / NAMESPACE
    namespace_dir.mkdir(parents=True)
    (namespace_dir / NAME).symlink_to(checkout, target_is_directory=True)
    return root


def _install(root: pathlib.Path) -> None:
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from ansible.utils.collection_loader import AnsibleCollectionConfig

    if AnsibleCollectionConfig.collection_finder is not None:
        return  # ansible-test's pytest plugin installed it, for the same root
    # Imported late: ansible reads its configuration on import, which must not happen before
    # pytest has set up its own environment.
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader([str(root)])


_EXISTING_ROOT = _existing_root(CHECKOUT)
COLLECTIONS_ROOT = _EXISTING_ROOT or _symlinked_root(CHECKOUT)
_install(COLLECTIONS_ROOT)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the temporary root (never the checkout, never a root we did not create)."""
    if _EXISTING_ROOT is None:
        # The tree holds only directories and the symlink; rmtree does not follow the symlink.
        shutil.rmtree(COLLECTIONS_ROOT, ignore_errors=True)


def ansible_executable(name: str) -> pathlib.Path:
    """The Ansible command ``name`` that runs the ansible-core these tests import."""
    beside = pathlib.Path(sys.executable).with_name(name)
    if beside.is_file():
        return beside
    on_path = shutil.which(name)
    if on_path is None:
        pytest.fail("%s is neither beside %s nor on PATH" % (name, sys.executable))
    return pathlib.Path(on_path)


@pytest.fixture(scope="session")
def collections_root() -> pathlib.Path:
    """A directory for ``ANSIBLE_COLLECTIONS_PATH`` in which djangoops.fleet is this checkout."""
    return COLLECTIONS_ROOT


@pytest.fixture(scope="session")
def run_module(collections_root: pathlib.Path):
    """Return ``run(name, args, bin_dir=None)``: this collection's module ``name`` run for real, as Ansible
    runs it (a Python process given ``ANSIBLE_MODULE_ARGS``), with ``bin_dir`` first on PATH when given;
    it returns the exit code, the JSON the module printed, and everything it printed."""

    def run(name: str, args: dict, bin_dir: pathlib.Path | None = None) -> tuple[int, dict, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(collections_root), env.get("PYTHONPATH")]))
        if bin_dir is not None:
            env["PATH"] = os.pathsep.join([str(bin_dir), env.get("PATH", "")])
        process = subprocess.run([sys.executable, "-m", "ansible_collections.djangoops.fleet.plugins.modules." + name],
                                 input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True,
                                 env=env, check=False, timeout=60)
        try:
            return process.returncode, json.loads(process.stdout), process.stdout + process.stderr
        except ValueError:
            pytest.fail("module %s printed no JSON: rc=%s\n%s\n%s" % (name, process.returncode, process.stdout, process.stderr))
            raise

    return run


@pytest.fixture(scope="session")
def ansible_playbook() -> pathlib.Path:
    return ansible_executable("ansible-playbook")


@pytest.fixture(scope="session")
def ansible_doc() -> pathlib.Path:
    return ansible_executable("ansible-doc")


@pytest.fixture(scope="session")
def isolated_ansible_env(collections_root: pathlib.Path):
    """Return ``env(home)``: this environment without ANSIBLE_* settings, plus the project's
    ansible.cfg, this checkout as djangoops.fleet, a private Ansible home and no colours.

    DJANGOOPS_ANSIBLE_LOG=FILE collects the log of every playbook run into FILE (ANSIBLE_LOG_PATH),
    so a run on a new ansible-core can be searched for its deprecation warnings."""

    def env(home: pathlib.Path) -> dict[str, str]:
        result = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
        result.update(
            ANSIBLE_CONFIG=str(CHECKOUT / "ansible.cfg"),
            ANSIBLE_COLLECTIONS_PATH=str(collections_root),
            ANSIBLE_HOME=str(home / "ansible-home"),
            ANSIBLE_LOCAL_TEMP=str(home / "ansible-tmp"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
        )
        if os.environ.get("DJANGOOPS_ANSIBLE_LOG"):
            result["ANSIBLE_LOG_PATH"] = os.environ["DJANGOOPS_ANSIBLE_LOG"]
        return result

    return env


@pytest.fixture(scope="session")
def ansible_galaxy() -> pathlib.Path:
    return ansible_executable("ansible-galaxy")
