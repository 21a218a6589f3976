# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every container django_app starts gets the same hardening (vars/main.yml ``__django_app_security``):
each ``community.docker.docker_container`` task that starts one (it names an image) sets every hardening
option from that one variable, so the web and standby, the process kinds and the one-offs cannot drift
apart; and the variable, resolved from the role's defaults, is what the README promises."""

from __future__ import annotations

import pathlib
import typing as t

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:  # ansible-core 2.19+: strings from files are templates only when trusted, as role defaults are.
    from ansible.template import trust_as_template
except ImportError:  # older cores template every string
    def trust_as_template(value: t.Any) -> t.Any:
        return value

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "django_app"
MODULE = "community.docker.docker_container"
# The docker_container options the hardening sets; each must come from __django_app_security.<key>.
OPTIONS = ("user", "read_only", "tmpfs", "cap_drop", "capabilities", "security_opts", "pids_limit", "memory")


def _load(path: pathlib.Path) -> t.Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _tasks(block: list) -> t.Iterator[dict]:
    for task in block or []:
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))
        yield task


def _starting_tasks() -> list[tuple[str, dict]]:
    """Every docker_container task of the role that starts a container (names an image), by file and name."""
    found = []
    for path in sorted((ROLE / "tasks").glob("*.yml")):
        for task in _tasks(_load(path)):
            if MODULE in task and "image" in (task[MODULE] or {}):
                found.append(("%s: %s" % (path.name, task.get("name")), task[MODULE]))
    return found


def test_the_containers_the_role_starts_are_the_known_ones() -> None:
    # A new kind of container must be added here, and so checked below.
    assert sorted(where.split(":")[0] for where, _args in _starting_tasks()) == [
        "container.yml", "oneoff.yml", "processes.yml"]


@pytest.mark.parametrize("where, args", _starting_tasks(), ids=[where for where, _args in _starting_tasks()])
@pytest.mark.parametrize("option", OPTIONS)
def test_every_container_takes_each_option_from_the_shared_hardening(where: str, args: dict, option: str) -> None:
    assert option in args, "%s does not set %s" % (where, option)
    assert "__django_app_security.%s" % option in str(args[option]), (
        "%s sets %s to %r, not from __django_app_security" % (where, option, args[option]))


def test_the_shared_hardening_sets_exactly_these_options() -> None:
    assert sorted(_load(ROLE / "vars" / "main.yml")["__django_app_security"]) == sorted(OPTIONS)


def _trusted(value: t.Any) -> t.Any:
    """Role files' strings, nested ones too, as templates (as Ansible trusts them)."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    return value


def _security(**inventory: t.Any) -> dict:
    """__django_app_security as a play resolves it from the role's defaults and vars, and the inventory."""
    variables = {**_load(ROLE / "defaults" / "main.yml"), **_load(ROLE / "vars" / "main.yml"), **inventory}
    variables = {key: _trusted(value) for key, value in variables.items()}
    variables["site_app_port"] = 8000
    return Templar(loader=DataLoader(), variables=variables).template(variables["__django_app_security"])


def test_the_defaults_harden_every_container() -> None:
    assert _security(__django_app_image_user="app") == {
        "user": "app",
        "read_only": True,
        "tmpfs": ["/tmp:rw,noexec,nosuid,nodev,size=128m"],
        "cap_drop": ["ALL"],
        "capabilities": [],
        "security_opts": ["no-new-privileges"],
        "pids_limit": 512,
        "memory": "1g",
    }


@pytest.mark.parametrize("inventory, expected", [
    # django_app_user wins over the image's USER.
    ({"django_app_user": "10001:10001", "__django_app_image_user": ""}, {"user": "10001:10001"}),
    # An image not inspected (check mode without a pull): the user is left to the image (the task omits "").
    ({}, {"user": ""}),
    ({"django_app_read_only": False, "django_app_no_new_privileges": False, "django_app_pids_limit": 0,
      "django_app_memory": ""}, {"read_only": False, "security_opts": [], "pids_limit": 0, "memory": "0"}),
    ({"django_app_memory": "0", "django_app_cap_add": ["NET_BIND_SERVICE"]}, {"memory": "0", "capabilities": ["NET_BIND_SERVICE"]}),
    # -e django_app_read_only=false arrives as a string.
    ({"django_app_read_only": "false", "django_app_pids_limit": "-1"}, {"read_only": False, "pids_limit": 0}),
])
def test_the_settings_reach_the_shared_hardening(inventory: dict, expected: dict) -> None:
    security = _security(**inventory)
    assert {key: security[key] for key in expected} == expected
