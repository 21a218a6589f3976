# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Facts about the machine a benchmark ran on, for RESULTS.md: CPUs, memory, kernel, versions;
and how busy its CPUs were during a measurement (``/proc/stat``).

The parsers take file contents (``/proc/cpuinfo``, ``/proc/meminfo``, cgroup v2 ``cpu.max``,
``/proc/stat``), so they are tested on samples; ``collect`` reads the files and asks the commands,
``cpu_sample`` reads ``/proc/stat`` before and after a block.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import platform
import re
import subprocess
import sys
import typing as t


def cpu_model(cpuinfo: str) -> str:
    """The CPU model named in /proc/cpuinfo (x86 ``model name``; ARM ``Hardware``/``CPU part``)."""
    for key in ("model name", "Model", "Hardware", "cpu model", "Processor"):
        match = re.search(rf"^{re.escape(key)}\s*:\s*(.+?)\s*$", cpuinfo, re.MULTILINE)
        if match:
            return match[1]
    return "unknown"


def cpu_count(cpuinfo: str) -> int:
    """Logical CPUs listed in /proc/cpuinfo (``processor`` entries)."""
    return len(re.findall(r"^processor\s*:", cpuinfo, re.MULTILINE))


def memory_bytes(meminfo: str) -> int | None:
    """MemTotal from /proc/meminfo, in bytes."""
    match = re.search(r"^MemTotal:\s+(\d+)\s*kB", meminfo, re.MULTILINE)
    return int(match[1]) * 1024 if match else None


def cpu_quota(cpu_max: str) -> float | None:
    """CPUs allowed by a cgroup v2 ``cpu.max`` (``"200000 100000"`` is 2.0; ``"max 100000"`` none)."""
    fields = cpu_max.split()
    if len(fields) != 2 or fields[0] == "max":
        return None
    try:
        return int(fields[0]) / int(fields[1])
    except (ValueError, ZeroDivisionError):
        return None


@dataclasses.dataclass(frozen=True)
class CpuTimes:
    """The aggregate ``cpu`` line of /proc/stat: jiffies spent busy and in all, over all CPUs, since boot."""

    busy: int
    total: int


def cpu_times(stat: str | None = None) -> CpuTimes | None:
    """Busy and total jiffies from /proc/stat's ``cpu`` line (``stat`` is its text; read when None).

    The fields are user, nice, system, idle, iowait, irq, softirq, steal, guest, guest_nice
    (proc(5)); idle time is idle + iowait. guest and guest_nice are already counted in user and
    nice, so they are left out of the total. None without a ``cpu`` line (not Linux).
    """
    text = _read("/proc/stat") if stat is None else stat
    line = next((line.split() for line in text.splitlines() if line.split()[:1] == ["cpu"]), None)
    try:
        fields = [int(field) for field in (line or [])[1:9]]
    except ValueError:
        return None
    if len(fields) < 4:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields)
    return CpuTimes(busy=total - idle, total=total)


def busy_percent(before: CpuTimes | None, after: CpuTimes | None) -> float | None:
    """Percent of the CPU time between two samples that was not idle (over all CPUs); None when a
    sample is missing or no time passed."""
    if before is None or after is None:
        return None
    total = after.total - before.total
    if total <= 0:
        return None
    return max(0.0, min(100.0, 100.0 * (after.busy - before.busy) / total))


@dataclasses.dataclass
class CpuSample:
    """What ``cpu_sample`` measured: ``percent`` is set when its block ends (None if unknown)."""

    percent: float | None = None


@contextlib.contextmanager
def cpu_sample(read: t.Callable[[], CpuTimes | None] | None = None) -> t.Iterator[CpuSample]:
    """How busy this machine's CPUs were during the block, in percent::

        with machine.cpu_sample() as cpu:
            run_the_load()
        cpu.percent  # 97.2

    It is the whole machine as /proc/stat counts it: with the lab on it, the load generator, the
    proxies and the app servers together. ``read`` takes the samples (``cpu_times`` unless given).
    """
    read = read or cpu_times
    sample = CpuSample()
    before = read()
    try:
        yield sample
    finally:
        sample.percent = busy_percent(before, read())


def _read(path: str) -> str:
    try:
        return pathlib.Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _first_line(argv: list[str], env: t.Mapping[str, str] | None = None) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if done.returncode == 0 and lines else None


def collect(env: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """Facts about this machine (the one running the lab's containers)."""
    cpuinfo = _read("/proc/cpuinfo")
    memory = memory_bytes(_read("/proc/meminfo"))
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(cpuinfo),
        "cpu_quota": cpu_quota(_read("/sys/fs/cgroup/cpu.max")),
        "memory_gib": round(memory / 1024**3, 1) if memory else None,
        "kernel": platform.release(),
        "os": _first_line(["sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""]),
        "docker": _first_line(["docker", "version", "--format", "{{.Server.Version}}"]),
        "ansible": _first_line(["ansible", "--version"], env),
        "python": sys.version.split()[0],
    }
