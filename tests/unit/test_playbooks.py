# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The playbooks define each play once and import it where needed (STYLE.md section 6)."""

from __future__ import annotations

import json
import pathlib
import typing as t

import pytest
import yaml

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOKS = CHECKOUT / "playbooks"


def _plays(name: str) -> list[dict]:
    return yaml.safe_load((PLAYBOOKS / name).read_text(encoding="utf-8"))


def _imports(name: str) -> list[str]:
    return [play["ansible.builtin.import_playbook"] for play in _plays(name) if "ansible.builtin.import_playbook" in play]


def _bodies() -> list[tuple[str, str]]:
    """Every play that is not an import, as (where, its content without its name)."""
    found = []
    for path in sorted(PLAYBOOKS.glob("*.yml")):
        for index, play in enumerate(_plays(path.name)):
            if "ansible.builtin.import_playbook" not in play:
                body = {key: value for key, value in play.items() if key != "name"}
                found.append(("%s[%d]" % (path.name, index), json.dumps(body, sort_keys=True)))
    return found


def test_playbooks_are_found() -> None:
    assert {"site.yml", "deploy.yml", "rollback.yml", "renew.yml", "preflight.yml", "release.yml", "manage.yml",
            "maintenance.yml"} <= {path.name for path in PLAYBOOKS.glob("*.yml")}


def test_no_play_is_defined_twice() -> None:
    seen: dict[str, str] = {}
    copies = []
    for where, body in _bodies():
        if body in seen:
            copies.append((seen[body], where))
        seen.setdefault(body, where)
    assert copies == []


@pytest.mark.parametrize("playbook, imported", [
    ("site.yml", ["preflight.yml", "lock.yml", "release.yml", "rotation.yml", "unlock.yml"]),
    ("deploy.yml", ["preflight.yml", "lock.yml", "release.yml", "rotation.yml", "unlock.yml"]),
    ("rollback.yml", ["deploy.yml"]),
])
def test_the_release_is_imported_not_copied(playbook: str, imported: list[str]) -> None:
    assert _imports(playbook) == imported
    # The release's plays live in release.yml alone.
    release_plays = {body for where, body in _bodies() if where.startswith("release.yml")}
    assert release_plays and not any(
        body in release_plays for where, body in _bodies() if not where.startswith("release.yml"))


@pytest.mark.parametrize("playbook", ["site.yml", "deploy.yml", "manage.yml"])
def test_the_fleet_lock_is_taken_right_after_the_preflight_and_released_last(playbook: str) -> None:
    imports = _imports(playbook)
    assert imports[:2] == ["preflight.yml", "lock.yml"] and imports[-1] == "unlock.yml"
    last = yaml.safe_load((PLAYBOOKS / playbook).read_text())[-1]
    assert last.get("ansible.builtin.import_playbook") == "unlock.yml"


def test_renew_takes_the_lock_after_its_checks_and_releases_it_after_renewing() -> None:
    tasks = yaml.safe_load((PLAYBOOKS / "renew.yml").read_text())[-1]["tasks"]
    states = [task.get("vars", {}).get("site_lock_state") for task in tasks]
    locked, released = states.index("present"), states.index("absent")
    assert released == locked + 2 and tasks[locked + 1]["ansible.builtin.include_role"]["tasks_from"] == "renew_now"
    assert all(task["ansible.builtin.include_role"].get("tasks_from") in ("validate", "published")
               for task in tasks[:locked])
    # Only reads after the release: the served certificates, checked and warned about.
    assert [task["ansible.builtin.include_role"]["tasks_from"] for task in tasks[released + 1:]] == ["served"]


# Playbooks that are parts of others, never run alone.
PARTS = {"preflight.yml", "lock.yml", "unlock.yml", "release.yml", "rotation.yml"}


def _entry_playbooks() -> list[str]:
    """The playbooks users run: all but the parts."""
    imported = {name for path in PLAYBOOKS.glob("*.yml") for name in _imports(path.name)}
    assert PARTS <= imported, "parts no playbook imports: %s" % sorted(PARTS - imported)
    return sorted(path.name for path in PLAYBOOKS.glob("*.yml") if path.name not in PARTS)


def _takes_the_lock(name: str) -> bool:
    """Whether a playbook takes the fleet lock: imports lock.yml (itself or through a playbook it imports), or
    includes the site role's lock with site_lock_state present."""
    if any(imported == "lock.yml" or _takes_the_lock(imported) for imported in _imports(name)):
        return True
    return any(task.get("ansible.builtin.include_role", {}).get("tasks_from") == "lock"
               and task.get("vars", {}).get("site_lock_state") == "present"
               for play in _plays(name) for section in ("pre_tasks", "tasks", "post_tasks") for task in play.get(section, []))


# Entry playbooks that change the fleet without waiting for the fleet lock, each with the reason: an exemption
# is written here, never the silent result of a play that forgot the lock.
WITHOUT_THE_LOCK = {
    # Switched on while a long deploy or migration holds the lock (its main use); the flag file it writes is
    # written atomically and by no other playbook (site.yml's configuration copy never deletes it).
    "maintenance.yml": "maintenance mode must not wait for the run it is switched on for",
}


def test_every_entry_playbook_takes_the_fleet_lock_or_says_why_not() -> None:
    entries = _entry_playbooks()
    assert {"site.yml", "deploy.yml", "rollback.yml", "renew.yml", "manage.yml", "maintenance.yml"} <= set(entries), entries
    assert [name for name in entries if not _takes_the_lock(name) and name not in WITHOUT_THE_LOCK] == []
    # And the list is not stale: an exempted playbook that took the lock after all would wait behind a deploy.
    assert [name for name in WITHOUT_THE_LOCK if _takes_the_lock(name)] == []


def test_maintenance_checks_its_state_first_then_switches_the_proxies_only() -> None:
    """The wanted state is checked by the first task of the run, on the controller, before any host is contacted;
    the proxies are then checked and switched, with no lock, no preflight of the app servers."""
    plays = _plays("maintenance.yml")
    first = plays[0]
    assert _hosts(first) == "all" and first["gather_facts"] is False and first["any_errors_fatal"] is True
    (check,) = first["pre_tasks"]
    assert list(check)[1] == "ansible.builtin.assert" and check["run_once"] is True
    assert [role["role"] for role in first["roles"]] == ["djangoops.fleet.site"]
    assert [module for task in first["tasks"] for module in task if module.startswith("ansible.builtin.")] == [
        "ansible.builtin.assert"]
    (switch,) = plays[1:]
    assert switch["hosts"] == "djangoops_fleet_proxies" and switch["any_errors_fatal"] is True
    assert [task["ansible.builtin.include_role"] for task in switch["tasks"]] == [
        {"name": "djangoops.fleet.nginx_proxy", "tasks_from": "validate"},
        {"name": "djangoops.fleet.nginx_proxy", "tasks_from": "maintenance"},
    ]


# `all` as the first play of each entry playbook writes it: through a filter and a test, so that
# ansible-playbook loads Ansible's Jinja plugins once, for every task's (forked) worker process.
ALL_THROUGH_PLUGINS = "{{ ['all'] | select('string') | first }}"


def _hosts(play: dict) -> t.Any:
    hosts = play.get("hosts")
    return "all" if hosts == ALL_THROUGH_PLUGINS else hosts


@pytest.mark.parametrize("name", ["preflight.yml", "renew.yml", "manage.yml", "maintenance.yml"])
def test_the_first_play_loads_the_jinja_plugins_before_any_task(name: str) -> None:
    assert _plays(name)[0]["hosts"] == ALL_THROUGH_PLUGINS


@pytest.mark.parametrize("path", sorted(PLAYBOOKS.glob("*.yml")), ids=lambda path: path.name)
def test_plays_target_the_fleet_groups(path: pathlib.Path) -> None:
    # Group names come from the site settings through the groups the site role fills; a play header
    # cannot read group_vars, so a templated group name there would ignore the inventory's.
    for play in _plays(path.name):
        hosts = _hosts(play)
        if hosts is None:
            continue
        assert hosts == "all" or hosts.lstrip().startswith(("djangoops_fleet_app_servers", "djangoops_fleet_proxies")), (
            path.name, play.get("name"), hosts)


def test_manage_checks_its_command_before_any_host_is_contacted() -> None:
    """The command of manage.yml is checked by a play that runs before the preflight, with no module."""
    plays = yaml.safe_load((PLAYBOOKS / "manage.yml").read_text())
    first = plays[0]
    assert plays[1].get("ansible.builtin.import_playbook") == "preflight.yml"
    assert first["gather_facts"] is False and [list(task)[1] for task in first["tasks"]] == ["ansible.builtin.assert"]
    assert "djangoops.fleet.manage_words('django_app_manage_args')" in first["tasks"][0]["ansible.builtin.assert"]["that"]
