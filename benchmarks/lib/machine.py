# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Facts about the machine a benchmark ran on, for RESULTS.md: CPUs, memory, kernel, versions.

The parsers take file contents (``/proc/cpuinfo``, ``/proc/meminfo``, cgroup v2 ``cpu.max``), so
they are tested on samples; ``collect`` reads the files and asks the commands.
"""

from __future__ import annotations

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
