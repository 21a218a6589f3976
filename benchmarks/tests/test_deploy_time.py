# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""benchmarks/lib/deploy_time.py: a rolling deploy's profile_tasks lines sorted into drain, container
start + health wait, and the rest; the names it matches are the collection's real task names."""

from __future__ import annotations

import functools
import pathlib
import sys

import pytest
import yaml

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:
    sys.path.insert(0, str(CHECKOUT))

from benchmarks.lib import ansible_output, deploy_time  # pylint: disable=wrong-import-position

# The end of a deploy.yml run with profile_tasks (names as Ansible prints them: templated, role first).
DEPLOY_RECAP = """\
TASKS RECAP ********************************************************************
Saturday 05 December 2026  22:02:35 +0000 (0:00:00.029)       0:00:31.796 *****
===============================================================================
djangoops.fleet.django_app : Run in a one-off container | release ------- 1.81s
djangoops.fleet.nginx_proxy : Let the requests in flight finish --------- 2.30s
djangoops.fleet.nginx_proxy : Let the requests in flight finish --------- 2.20s
djangoops.fleet.django_app : Ensure the app container runs the release image and settings --- 1.05s
djangoops.fleet.django_app : Ensure the app container runs the release image and settings (standby) --- 1.00s
Ask the Docker engine for its version ----------------------------------- 0.92s
djangoops.fleet.nginx_proxy : Mark the servers in every proxy's upstream (and reload its Nginx) as drained --- 0.77s
djangoops.fleet.nginx_proxy : Mark the servers in every proxy's upstream (and reload its Nginx) as active --- 0.65s
djangoops.fleet.django_app : Wait until the app serves /healthz/ -------- 0.64s
djangoops.fleet.django_app : Check that the running app serves /healthz/ --- 0.30s
djangoops.fleet.site : Pull the image where it is missing | 10.87.0.21:5000/djangoops/polls:1.1.0 --- 0.70s
Take the changing servers out of every proxy's upstream ----------------- 0.02s
"""


@pytest.mark.parametrize(("name", "part"), [
    ("djangoops.fleet.nginx_proxy : Let the requests in flight finish", "drain"),
    ("djangoops.fleet.nginx_proxy : Mark the servers in every proxy's upstream (and reload its Nginx) as drained", "drain"),
    ("djangoops.fleet.nginx_proxy : Mark the servers in every proxy's upstream (and reload its Nginx) as active", "drain"),
    # Untemplated, as an older Ansible or a check-mode listing shows it.
    ("djangoops.fleet.nginx_proxy : Mark the servers in every proxy's upstream (and reload its Nginx) as {{ nginx_proxy_drain_state }}",
     "drain"),
    ("Put the healthy servers back into every proxy's upstream", "drain"),
    ("djangoops.fleet.django_app : Ensure the app container runs the release image and settings", "container"),
    ("djangoops.fleet.django_app : Ensure the app container runs the release image and settings (standby)", "container"),
    ("djangoops.fleet.django_app : Wait until the app serves /polls/", "container"),
    ("djangoops.fleet.django_app : Stop and remove the standby container", "container"),
    # Not a start: the running app's check, the one-off steps, a pull, the checks.
    ("djangoops.fleet.django_app : Check that the running app serves /healthz/", "rest"),
    ("djangoops.fleet.django_app : Run in a one-off container | release", "rest"),
    ("djangoops.fleet.site : Pull the image where it is missing | 10.87.0.21:5000/djangoops/polls:1.1.0", "rest"),
    ("Gathering Facts", "rest"),
    # A name only ending like a drain task's is not one.
    ("djangoops.fleet.site : Let the requests in flight finish first", "rest"),
])
def test_classify(name, part):
    assert deploy_time.classify(name) == part


def test_breakdown_adds_up_to_the_wall_time():
    tasks = ansible_output.parse_profile_tasks(DEPLOY_RECAP)
    parts = deploy_time.breakdown(tasks, 25.0)
    # drain: 2.30 + 2.20 + 0.77 + 0.65 + 0.02; container: 1.05 + 1.00 + 0.64; the rest of the 25 s.
    assert parts == {"drain": 5.94, "container": 2.69, "rest": 16.37}
    assert sum(parts.values()) == pytest.approx(25.0)
    assert deploy_time.bound(parts) == "rest"


def test_a_run_without_profile_lines_is_all_rest():
    assert deploy_time.breakdown([], 12.5) == {"drain": 0.0, "container": 0.0, "rest": 12.5}
    # Lines that add up to more than the wall time (clock granularity): no negative rest.
    assert deploy_time.breakdown([("Let the requests in flight finish", 3.0)], 2.9)["rest"] == 0.0


@pytest.mark.parametrize(("parts", "bound"), [
    ({"drain": 9.0, "container": 3.0, "rest": 8.0}, "drain"),
    ({"drain": 1.0, "container": 12.0, "rest": 8.0}, "container"),
    (None, None),
    ({}, None),
])
def test_bound(parts, bound):
    assert deploy_time.bound(parts) == bound


@functools.cache
def _task_names() -> frozenset[str]:
    """Every task (and play) name of the collection's roles and playbooks."""
    names: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("name"), str):
                names.add(node["name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in [*CHECKOUT.glob("roles/*/tasks/*.yml"), *CHECKOUT.glob("playbooks/*.yml")]:
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return frozenset(names)


@pytest.mark.parametrize("name", deploy_time.DRAIN_TASKS + deploy_time.CONTAINER_TASKS)
def test_every_name_is_a_task_of_the_collection(name):
    # A renamed task would silently move its time into "rest": the name must still be there.
    assert any(deploy_time.name_pattern(name).fullmatch(real) for real in _task_names())


def test_a_name_that_is_no_task_is_found_out():
    assert not any(deploy_time.name_pattern("Let the requests in flight end").fullmatch(real) for real in _task_names())
