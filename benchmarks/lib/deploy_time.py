# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where a rolling deploy's wall time goes, from the profile_tasks summary of playbooks/deploy.yml:
draining (taking servers out of the proxies' upstreams, waiting for the requests in flight, putting
them back), starting the new container and waiting for its health check, and the rest (Ansible's own
work: SSH round trips, the checks, the release steps, every other task, and its start-up).

profile_tasks gives one line per task (per task object: an included task runs again, under the same
name, in each batch) with the time from that task's start to the next task's, over all hosts at once:
the lines add up to the run's wall time less Ansible's start-up. The names below are the tasks' own
(roles/nginx_proxy/tasks/drain*.yml, roles/django_app/tasks/rollout.yml, standby.yml, container.yml,
health.yml, processes*.yml, prepare.yml, in_rotation.yml); ``{}`` stands for a templated part. A unit
test checks that each still names a task of the collection.
"""

from __future__ import annotations

import re
import typing as t

DRAIN, CONTAINER, REST = "drain", "container", "rest"
PARTS = (DRAIN, CONTAINER, REST)
PART_TITLES = {DRAIN: "drain", CONTAINER: "container start + health", REST: "rest (Ansible)"}

DRAIN_TASKS = (
    # nginx_proxy's entry point `drain`: where each proxy's Nginx lives, the upstream edit and reload,
    # the wait for the requests in flight (django_app_drain_seconds), and its reports.
    "Learn where each proxy's Nginx lives, from the proxies not read yet this run",
    "Read where each proxy's Nginx lives (once per run and proxy)",
    "Remember where each proxy's Nginx lives",
    "Mark the servers in every proxy's upstream (and reload its Nginx) as {}",
    "Publish the proxies that have no other app server for these, and the servers whose lines changed",
    "Let the requests in flight finish",
    "Report proxies that were not converged, have no other server, or do not list the servers",
    "Say which proxies nginx_proxy never converged",
    "Say which proxies have no other app server to send traffic to",
    "Warn about proxies whose upstream does not name the servers",
    "Fail where a proxy does not list the servers",
    # django_app's calls of it: out of the upstreams, to the standby, back in.
    "Work out which servers of this batch to drain",
    "Take the changing servers out of every proxy's upstream",
    "Send every proxy's traffic for these servers to their standby",
    "Put the healthy servers back into every proxy's upstream",
    "Put the staying servers that serve back into every proxy's upstream",
    "Put every server that serves into every proxy's upstream, and check that each lists it",
)

CONTAINER_TASKS = (
    # The app container (and its standby), as the release wants it, then its health check. The same
    # task, in check mode, also finds out in `prepare` whether the container changes (under a second).
    "Ensure the app container runs the release image and settings{}",
    "Wait until the app serves {}",
    "Serve from a standby container meanwhile",
    "Note that the standby serves",
    "Stop and remove the standby container",
    "Remove the standby that did not serve",
    "Read the app container's last output",
    # The processes besides the web (workers, a scheduler), when the app has any.
    "Ensure each process container runs the release image and settings",
    "Wait until the started process containers pass their health check",
    "Give the started process containers without a health check time to fail",
)

_ROLE_PREFIX = re.compile(r"^[\w.]+ : ")


def name_pattern(name: str) -> re.Pattern[str]:
    """A task name as a pattern: ``{}`` matches its templated part, whether templated or not."""
    return re.compile(".*".join(re.escape(piece) for piece in name.split("{}")))


_PATTERNS = [(DRAIN, name_pattern(name)) for name in DRAIN_TASKS] + [(CONTAINER, name_pattern(name)) for name in CONTAINER_TASKS]


def task_name(line_name: str) -> str:
    """The task's own name from profile_tasks' ``"<namespace.collection.role> : <name>"``."""
    return _ROLE_PREFIX.sub("", line_name, count=1)


def classify(line_name: str) -> str:
    """drain, container or rest, for one task name of the profile_tasks summary."""
    name = task_name(line_name)
    for part, pattern in _PATTERNS:
        if pattern.fullmatch(name):
            return part
    return REST


def breakdown(tasks: t.Iterable[tuple[str, float]], wall_seconds: float) -> dict[str, float]:
    """The wall time in parts: drain and container summed from their tasks' lines; the rest is what
    remains of the wall time (every other task, and Ansible's start-up before the first task)."""
    sums = {DRAIN: 0.0, CONTAINER: 0.0}
    for name, seconds in tasks:
        part = classify(name)
        if part in sums:
            sums[part] += seconds
    rest = max(0.0, wall_seconds - sums[DRAIN] - sums[CONTAINER])
    return {DRAIN: round(sums[DRAIN], 2), CONTAINER: round(sums[CONTAINER], 2), REST: round(rest, 2)}


def bound(parts: t.Mapping[str, float] | None) -> str | None:
    """The part that took the most time (what bounds the deploy), or None without parts."""
    if not parts or not any(parts.get(part) for part in PARTS):
        return None
    return max(PARTS, key=lambda part: parts.get(part) or 0.0)
