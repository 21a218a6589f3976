# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet lock's decisions: take a free lock, renew one's own, wait for a live holder, break a lock
left by a dead run (lease over, told to, or unreadable); and the holder named in words, its playbooks
read from the command line without any option value."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils import _fleet_lock

NOW = datetime.datetime(2026, 12, 2, 3, 0, 0, tzinfo=datetime.timezone.utc)


def _record(run_id: str = "other", renewed_ago: int = 10) -> dict:
    return {"run_id": run_id, "controller": "ctl1", "user": "alice", "pid": 4242, "playbooks": ["playbooks/deploy.yml"],
            "since": "2026-12-02T02:50:00Z", "renewed": _fleet_lock.stamp(NOW - datetime.timedelta(seconds=renewed_ago))}


@pytest.mark.parametrize("record, breaks, break_any, expected", [
    (None, (), False, "take"),
    (_record("mine"), (), False, "renew"),
    (_record(), (), False, "wait"),
    (_record(renewed_ago=1799), (), False, "wait"),
    (_record(renewed_ago=1801), (), False, "break"),
    (_record(), ("other",), False, "break"),
    (_record(), ("someone-else",), False, "wait"),
    (_record(), (), True, "break"),
    ({"run_id": None, "unreadable": "{"}, (), False, "break"),
    ({"run_id": "other"}, (), False, "break"),
])
def test_decide(record, breaks, break_any, expected) -> None:
    assert _fleet_lock.decide(record, "mine", NOW, 1800, breaks, break_any) == expected


def test_the_holder_in_words() -> None:
    assert _fleet_lock.describe(_record(renewed_ago=42), NOW) == (
        "alice@ctl1 running playbooks/deploy.yml (process 4242, run other) since 2026-12-02T02:50:00Z,"
        " last renewed 42 s ago")
    assert _fleet_lock.describe({"run_id": None, "unreadable": "x"}, NOW).startswith("?@? running a playbook")


@pytest.mark.parametrize("argv, expected", [
    (["/venv/bin/ansible-playbook", "-i", "inventories/prod", "playbooks/deploy.yml"], ["playbooks/deploy.yml"]),
    (["python3", "/venv/bin/ansible-playbook", "playbooks/site.yml", "-e", "django_app_secret_key=hunter2-secret",
      "--limit", "app1"], ["playbooks/site.yml"]),
    (["ansible-playbook", "--extra-vars=@secrets.yml", "-e", "@vault.yml", "djangoops.fleet.deploy"], ["djangoops.fleet.deploy"]),
    (["ansible-playbook", "-vvv", "--check", "--diff", "a.yml", "b.yml"], ["a.yml", "b.yml"]),
    (["ansible-playbook", "--vault-password-file", "pw.txt", "site.yml"], ["site.yml"]),
])
def test_playbooks_on_the_command_line_never_option_values(argv, expected) -> None:
    assert _fleet_lock.playbooks_in(argv) == expected


def test_run_ids_differ_by_process_and_start() -> None:
    ids = {_fleet_lock.run_id("ctl1", 100, "5000"), _fleet_lock.run_id("ctl1", 100, "5001"),
           _fleet_lock.run_id("ctl1", 101, "5000"), _fleet_lock.run_id("ctl2", 100, "5000")}
    assert len(ids) == 4
    assert _fleet_lock.run_id("ctl1", 100, "5000") == _fleet_lock.run_id("ctl1", 100, "5000")


def test_records_round_trip_and_garbage_reads_as_breakable() -> None:
    assert _fleet_lock.decode(_fleet_lock.encode(_record())) == _record()
    assert _fleet_lock.decode("{half")["run_id"] is None
    assert _fleet_lock.decode("[1, 2]")["run_id"] is None
