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


# /proc/stat of a 2-CPU machine, and the same 4.9 s later (980 jiffies at 100 per second per CPU).
STAT_BEFORE = """\
cpu  20771 0 8367 25017 907 0 271 63 0 0
cpu0 7426 0 3176 16740 254 0 20 26 0 0
cpu1 13344 0 5191 8277 653 0 251 37 0 0
intr 1795410 0 9 0 0 0 0 0 0 0 0 0 0 156 0 0 0 0 0 0 0 0 0
ctxt 3214567
btime 1764075600
"""
STAT_AFTER = """\
cpu  21471 0 8567 25067 907 0 301 63 0 0
cpu0 7776 0 3276 16765 254 0 35 26 0 0
cpu1 13694 0 5291 8302 653 0 266 37 0 0
intr 1795999 0 9 0 0 0 0 0 0 0 0 0 0 156 0 0 0 0 0 0 0 0 0
"""


def test_cpu_times_of_the_aggregate_line():
    # busy: user 20771 + system 8367 + softirq 271 + steal 63; idle: idle 25017 + iowait 907.
    assert machine.cpu_times(STAT_BEFORE) == machine.CpuTimes(busy=29472, total=55396)


def test_guest_time_is_not_counted_twice():
    # guest (7) and guest_nice (3) are already in user and nice.
    assert machine.cpu_times("cpu  100 10 50 800 40 0 0 0 7 3\n") == machine.CpuTimes(busy=160, total=1000)


def test_cpu_times_of_an_old_kernel_with_four_fields():
    assert machine.cpu_times("cpu 30 0 20 50\n") == machine.CpuTimes(busy=50, total=100)


@pytest.mark.parametrize("stat", ["", "cpu0 1 2 3 4 5\n", "cpu  1 2\n", "cpu  a b c d\n"])
def test_no_cpu_line(stat):
    assert machine.cpu_times(stat) is None


def test_busy_percent_between_two_samples():
    # 980 jiffies passed: 700 user + 200 system + 30 softirq busy, 50 idle + 0 iowait.
    before, after = machine.cpu_times(STAT_BEFORE), machine.cpu_times(STAT_AFTER)
    assert after.total - before.total == 980
    assert machine.busy_percent(before, after) == pytest.approx(100 * 930 / 980)


def test_iowait_is_idle_time():
    before = machine.cpu_times("cpu  0 0 0 0 0 0 0 0 0 0\n")
    after = machine.cpu_times("cpu  250 0 0 250 500 0 0 0 0 0\n")
    assert machine.busy_percent(before, after) == pytest.approx(25.0)


@pytest.mark.parametrize(("before", "after"), [
    (None, machine.CpuTimes(1, 2)), (machine.CpuTimes(1, 2), None), (machine.CpuTimes(5, 10), machine.CpuTimes(5, 10)),
])
def test_busy_percent_unknown(before, after):
    assert machine.busy_percent(before, after) is None


def test_cpu_sample_measures_the_block():
    samples = iter([STAT_BEFORE, STAT_AFTER])
    with machine.cpu_sample(lambda: machine.cpu_times(next(samples))) as cpu:
        assert cpu.percent is None
    assert cpu.percent == pytest.approx(100 * 930 / 980)
    assert next(samples, "read twice") == "read twice"


def test_cpu_sample_without_proc_stat():
    with machine.cpu_sample(lambda: None) as cpu:
        pass
    assert cpu.percent is None


def test_cpu_sample_of_this_machine():
    with machine.cpu_sample() as cpu:
        sum(range(100_000))
    if machine.cpu_times() is None:
        pytest.skip("no /proc/stat here")
    assert cpu.percent is None or 0.0 <= cpu.percent <= 100.0
