# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""benchmarks/lib/machine.py: machine facts from /proc/cpuinfo, /proc/meminfo and cgroup v2's cpu.max."""

from __future__ import annotations

import pathlib
import sys

import pytest

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:
    sys.path.insert(0, str(CHECKOUT))

from benchmarks.lib import machine  # pylint: disable=wrong-import-position

X86_CPUINFO = """\
processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC 7B13
stepping\t: 0
cpu MHz\t\t: 2449.998

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC 7B13
stepping\t: 0
"""

ARM_CPUINFO = """\
processor\t: 0
BogoMIPS\t: 50.00
CPU implementer\t: 0x41
CPU part\t: 0xd0c

Hardware\t: BCM2835
"""

MEMINFO = """\
MemTotal:        8131548 kB
MemFree:          412000 kB
MemAvailable:    5120000 kB
"""


def test_x86_model_and_count():
    assert machine.cpu_model(X86_CPUINFO) == "AMD EPYC 7B13"
    assert machine.cpu_count(X86_CPUINFO) == 2


def test_arm_hardware_line():
    assert machine.cpu_model(ARM_CPUINFO) == "BCM2835"
    assert machine.cpu_count(ARM_CPUINFO) == 1


def test_no_cpuinfo():
    assert machine.cpu_model("") == "unknown"


def test_memory():
    assert machine.memory_bytes(MEMINFO) == 8131548 * 1024
    assert machine.memory_bytes("") is None


@pytest.mark.parametrize(("cpu_max", "expected"), [("200000 100000\n", 2.0), ("50000 100000", 0.5), ("max 100000\n", None), ("", None)])
def test_cgroup_cpu_quota(cpu_max, expected):
    assert machine.cpu_quota(cpu_max) == expected
