# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the benchmarks read from ansible-playbook's output: the PLAY RECAP (did a "no-change" run
change nothing?) and the summary of the ansible.posix.profile_tasks callback (the slowest tasks).

profile_tasks ends a run with (ansible.posix, plugins/callback/profile_tasks.py)::

    TASKS RECAP ********************************************************************
    Monday 02 March 2026  10:00:00 +0000 (0:00:00.512)       0:01:02.345 *********
    ===============================================================================
    djangoops.fleet.django_app : Pull the release image --------------------- 12.34s
    Gathering Facts ---------------------------------------------------------- 2.10s

each entry being the task name, a space, dashes up to the terminal width less 9, and the
seconds right-aligned in 9 columns padded with dashes (``{name} ---- 12.34s``). With ``-vv`` a line
with the task's path and dashes follows each entry; it is skipped here.
"""

from __future__ import annotations

import re
import typing as t

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:[a-z]+=\d+\s*)+)$")
# name, a space, dashes (none when the name fills the width), a space, seconds
_TASK_LINE = re.compile(r"^(?P<name>.*\S)(?: -+ |  )(?P<seconds>\d+\.\d+)s$")
_TASKS_RECAP = "TASKS RECAP"
# profile_tasks' line at each task's start: "<date> (<previous task's time>)       <elapsed> ****"
_TASK_START = re.compile(r"\(\d+:\d\d:\d\d\.\d{3}\)\s+\d+:\d\d:\d\d\.\d{3} \*+\s*$")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """The last PLAY RECAP's counts per host: ``{"app1": {"ok": 12, "changed": 0, ...}}``."""
    lines = strip_ansi(output).splitlines()
    starts = [index for index, line in enumerate(lines) if line.startswith("PLAY RECAP")]
    if not starts:
        return {}
    recap: dict[str, dict[str, int]] = {}
    for line in lines[starts[-1] + 1:]:
        match = _RECAP_LINE.match(line.strip())
        if match is None:
            if recap:
                break  # the recap ends at the first line that is not a host's counts
            continue
        counts = dict(pair.split("=") for pair in match["counts"].split())
        recap[match["host"]] = {key: int(value) for key, value in counts.items()}
    return recap


def changed_hosts(recap: dict[str, dict[str, int]]) -> list[str]:
    """Hosts that reported a change (a no-change run must have none)."""
    return sorted(host for host, counts in recap.items() if counts.get("changed", 0))


def failed_hosts(recap: dict[str, dict[str, int]]) -> list[str]:
    """Hosts with failed or unreachable tasks."""
    return sorted(host for host, counts in recap.items() if counts.get("failed", 0) or counts.get("unreachable", 0))


def parse_profile_tasks(output: str) -> list[tuple[str, float]]:
    """The task timings of profile_tasks' summary, in its order (slowest first by default)."""
    text = strip_ansi(output)
    start = text.rfind(_TASKS_RECAP)
    if start < 0:
        return []
    lines = text[start:].splitlines()
    separators = [index for index, line in enumerate(lines) if line.strip() and set(line.strip()) == {"="}]
    if not separators:
        return []
    tasks = []
    for line in lines[separators[0] + 1:]:
        match = _TASK_LINE.match(line.rstrip())
        if match is not None:
            tasks.append((match["name"], float(match["seconds"])))
    return tasks


def task_starts(output: str) -> int:
    """Tasks started in a run with profile_tasks (a task run again in a later batch counts again,
    handlers too): its timestamp lines before the TASKS RECAP."""
    text = strip_ansi(output)
    end = text.rfind(_TASKS_RECAP)
    return sum(1 for line in (text if end < 0 else text[:end]).splitlines() if _TASK_START.search(line))


def slowest(tasks: t.Iterable[tuple[str, float]], count: int = 10) -> list[tuple[str, float]]:
    """The ``count`` slowest tasks, slowest first (ties keep their order)."""
    return sorted(tasks, key=lambda task: -task[1])[:count]


def last_lines(output: str, count: int = 15) -> str:
    """The end of a run's output, for an error message."""
    return "\n".join(strip_ansi(output).rstrip().splitlines()[-count:])
