# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The processes besides the web: each kind checked with a message naming the field, the containers of each
server, and where a singleton runs as app servers come and go."""

from __future__ import annotations

import json

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils import _processes

WORKER = {"name": "worker", "command": "celery -A mysite worker -l info", "count": 2, "stop_grace_period": 120,
          "healthcheck": "celery -A mysite inspect ping -d celery@$HOSTNAME"}
BEAT = {"name": "beat", "command": ["celery", "-A", "mysite", "beat"], "singleton": True}
APPS = ["app1", "app2", "app3"]


def _container(name: str, kind: str, grace: str | None = None) -> dict:
    labels = {_processes.LABEL_APP: "polls", _processes.LABEL_PROCESS: kind}
    if grace is not None:
        labels[_processes.LABEL_GRACE] = grace
    return {"Names": ["/" + name], "Labels": labels}


def test_a_kind_gets_every_field_with_the_command_split_as_a_shell_would():
    worker, beat = _processes.kinds([WORKER, BEAT])
    assert worker["command"] == ["celery", "-A", "mysite", "worker", "-l", "info"]
    assert worker["healthcheck"] == "celery -A mysite inspect ping -d celery@$HOSTNAME"  # a line: run by the shell
    assert (worker["count"], worker["stop_grace_period"], worker["stop_signal"], worker["singleton"]) == (2, 120, "SIGTERM", False)
    assert (beat["count"], beat["singleton"], beat["healthcheck"], beat["start_seconds"], beat["memory"]) == (1, True, [], 5, "")


@pytest.mark.parametrize(("entry", "said"), [
    ("worker", "django_app_processes[0] must be a mapping"),
    ({"name": "Worker", "command": "x"}, "django_app_processes[0].name must be a short lower-case name"),
    ({"name": "web", "command": "x"}, "'web' is the web's own"),
    ({"name": "worker"}, "django_app_processes[0] (worker).command must be a list of words"),
    ({"name": "worker", "command": ""}, "(worker).command must name the program"),
    ({"name": "worker", "command": "x", "replicas": 2}, "unknown keys replicas"),
    ({"name": "worker", "command": "x", "count": "two"}, "(worker).count must be a whole number 0-64"),
    ({"name": "beat", "command": "x", "singleton": True, "count": 2}, "is a singleton: it runs once"),
    ({"name": "worker", "command": "x", "memory": "lots"}, "(worker).memory must be a size such as 512m"),
    ({"name": "worker", "command": "x", "stop_signal": "TERM now"}, "(worker).stop_signal must be a signal"),
    ({"name": "worker", "command": "x", "stop_grace_period": -1}, "(worker).stop_grace_period must be a whole number"),
    ({"name": "worker", "command": "x", "cpus": -1}, "(worker).cpus must be 0 (no limit) or more"),
    ({"name": "worker", "command": "x", "healthcheck": "a\nb"}, "(worker).healthcheck must be one line"),
    ({"name": "worker", "command": "sh -c 'unclosed"}, "(worker).command: No closing quotation"),
])
def test_a_bad_kind_is_named_with_its_field(entry, said):
    assert said in _processes.problems([entry])[0]


def test_a_kind_named_twice_and_a_list_that_is_not_one_are_refused():
    assert "names worker more than once" in _processes.problems([WORKER, WORKER])[0]
    assert "must be a list of process kinds" in _processes.problems({"worker": "celery"})[0]
    assert _processes.problems([]) == [] and _processes.problems(None) == []


def test_each_server_runs_count_containers_of_each_kind_and_the_singleton_only_where_placed():
    found = _processes.containers([WORKER, BEAT], "app1", {"beat": "app1"}, "polls")
    assert [entry["container"] for entry in found] == ["polls-worker-1", "polls-worker-2", "polls-beat-1"]
    assert [entry["suffix"] for entry in found] == ["worker-1", "worker-2", "beat-1"]
    names = [entry["container"] for entry in _processes.containers([WORKER, BEAT], "app2", {"beat": "app1"}, "polls")]
    assert names == ["polls-worker-1", "polls-worker-2"]
    assert _processes.containers([dict(WORKER, count=0)], "app1", {}, "polls") == []


def test_containers_no_kind_names_go_with_the_grace_period_they_were_started_with():
    wanted = _processes.containers([WORKER], "app2", {}, "polls")
    found = [_container("polls-worker-1", "worker", "120"), _container("polls-worker-3", "worker", "120"),
             _container("polls-beat-1", "beat"), _container("polls-old-1", "old", "x")]
    assert _processes.to_remove(found, wanted) == [
        {"name": "polls-worker-3", "stop_grace_period": 120}, {"name": "polls-beat-1", "stop_grace_period": 30},
        {"name": "polls-old-1", "stop_grace_period": 30}]


def test_a_first_run_places_the_singleton_on_the_first_app_server_and_records_every_server():
    placed = _processes.placement([WORKER, BEAT], [], APPS, {}, {"app1": "10.0.0.1", "app2": "10.0.0.2", "app3": "10.0.0.3"})
    assert placed["singletons"] == {"beat": "app1"} and placed["departed"] == []
    assert placed["record"] == {"serial": 1, "hosts": APPS, "singletons": {"beat": "app1"},
                                "addresses": {"app1": "10.0.0.1", "app2": "10.0.0.2", "app3": "10.0.0.3"}}
    assert placed["write"]


def test_the_singleton_stays_where_it_runs_while_that_server_is_an_app_server():
    record = {"serial": 4, "hosts": APPS, "singletons": {"beat": "app2"}, "addresses": {"app2": "10.0.0.2"}}
    # A server added before it in the inventory does not move it.
    placed = _processes.placement([WORKER, BEAT], [json.dumps(record)], ["app0", *APPS], {}, {})
    assert placed["singletons"] == {"beat": "app2"}


def test_when_its_server_leaves_the_singleton_moves_to_the_first_and_the_server_is_departed():
    old = {"serial": 3, "hosts": APPS, "singletons": {"beat": "app3"}, "addresses": {"app3": "10.0.0.3"}}
    new = dict(old, serial=4, singletons={"beat": "app1"})
    # The newest record counts, whatever server it was read from; malformed ones are skipped.
    placed = _processes.placement([WORKER, BEAT], [json.dumps(old), "{oops", new, {"serial": "9"}], ["app2", "app3"],
                                  {"app2": [], "app3": []}, {"app2": "10.0.0.2", "app3": "10.0.0.3"})
    assert placed["singletons"] == {"beat": "app2"}
    assert placed["departed"] == [{"host": "app1", "address": "app1"}]
    assert placed["record"]["serial"] == 5 and placed["record"]["hosts"] == ["app2", "app3"]


def test_an_unrecorded_singleton_stays_on_the_server_whose_container_runs_it():
    running = {"app1": [], "app3": [_container("polls-beat-1", "beat")]}
    assert _processes.placement([BEAT], [], APPS, running, {})["singletons"] == {"beat": "app3"}


def test_a_run_that_changes_nothing_keeps_the_record_as_it_is():
    first = _processes.placement([WORKER, BEAT], [], APPS, {}, {})["record"]
    again = _processes.placement([WORKER, BEAT], [first], APPS, {}, {})
    assert again["record"] == first


def test_without_processes_nothing_is_recorded_unless_a_record_is_there_to_empty():
    assert not _processes.placement([], [], APPS, {}, {})["write"]
    record = {"serial": 2, "hosts": ["app1"], "singletons": {}, "addresses": {"app1": "app1"}}
    emptied = _processes.placement([], [record], APPS, {}, {})
    assert emptied["write"] and emptied["record"]["hosts"] == [] and emptied["record"]["serial"] == 3


def test_only_servers_with_a_container_are_recorded():
    placed = _processes.placement([BEAT], [], APPS, {}, {})
    assert placed["record"]["hosts"] == ["app1"]
