# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""benchmarks/lib/wrk.py: wrk's report parsed into numbers, and wrk's command lines.

The samples follow wrk 4.1's printf formats (src/wrk.c: print_stats, print_units with widths
8/10/9, ``%7.0Lf%%`` percentiles, ``Requests/sec: %9.2Lf``, ``Transfer/sec: %10sB``); the
expected values are read off the samples by hand.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:
    sys.path.insert(0, str(CHECKOUT))

from benchmarks.lib import wrk  # pylint: disable=wrong-import-position

# Through the proxy over HTTPS: clean, so no "Socket errors" or "Non-2xx" line.
CLEAN = """\
Running 20s test @ https://polls.djangoops.test/polls/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    61.20ms   12.01ms 212.47ms   80.12%
    Req/Sec   130.52     21.30   190.00     71.00%
  Latency Distribution
     50%   59.80ms
     75%   66.11ms
     90%   74.92ms
     99%  108.35ms
  5210 requests in 20.02s, 21.31MB read
Requests/sec:    260.24
Transfer/sec:      1.06MB
"""

# Straight at an overloaded app server: seconds as units, socket errors and error statuses.
ERRORS = """\
Running 20s test @ http://198.51.100.11:8000/polls/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.21s   402.33ms   9.87s    68.40%
    Req/Sec     4.10      2.97    20.00     77.27%
  Latency Distribution
     50%    1.10s\x20
     75%    1.42s\x20
     90%    1.80s\x20
     99%    3.05s\x20
  1016 requests in 20.10s, 3.98MB read
  Socket errors: connect 0, read 2, write 0, timeout 7
  Non-2xx or 3xx responses: 5
Requests/sec:     50.55
Transfer/sec:    202.87KB
"""

# Microseconds, a metric prefix in Req/Sec, bytes without a prefix, one thread.
FAST = """\
Running 5s test @ http://198.51.100.12:8000/polls/
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us   95.50us   2.14ms   91.00%
    Req/Sec     1.21k    80.11     1.33k    70.00%
  Latency Distribution
     50%  790.00us
     75%  850.00us
     90%  920.00us
     99%    1.40ms
  6051 requests in 5.00s, 512.00B read
Requests/sec:   1210.05
Transfer/sec:     102.40B
"""


def test_a_clean_run_through_the_proxy():
    result = wrk.parse(CLEAN)
    assert result.requests == 5210
    assert result.seconds == pytest.approx(20.02)
    assert result.requests_per_second == pytest.approx(260.24)
    assert result.latency_ms == pytest.approx({"50": 59.80, "75": 66.11, "90": 74.92, "99": 108.35})
    assert (result.p50_ms, result.p99_ms) == pytest.approx((59.80, 108.35))
    assert result.latency_avg_ms == pytest.approx(61.20)
    assert result.latency_max_ms == pytest.approx(212.47)
    assert result.socket_errors == {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    assert result.non_2xx_3xx == 0
    assert result.errors == 0
    assert result.bytes_read == round(21.31 * 1024 * 1024)
    assert (result.threads, result.connections) == (2, 16)


def test_socket_errors_and_error_statuses_are_counted():
    result = wrk.parse(ERRORS)
    assert result.socket_errors == {"connect": 0, "read": 2, "write": 0, "timeout": 7}
    assert result.non_2xx_3xx == 5
    assert result.errors == 14
    # Seconds become milliseconds; the trailing space wrk leaves after a one-letter unit is fine.
    assert result.latency_ms == pytest.approx({"50": 1100.0, "75": 1420.0, "90": 1800.0, "99": 3050.0})
    assert result.latency_avg_ms == pytest.approx(1210.0)
    assert result.latency_max_ms == pytest.approx(9870.0)
    assert result.requests_per_second == pytest.approx(50.55)


def test_microseconds_and_plain_bytes():
    result = wrk.parse(FAST)
    assert result.latency_ms == pytest.approx({"50": 0.79, "75": 0.85, "90": 0.92, "99": 1.40})
    assert result.latency_avg_ms == pytest.approx(0.812)
    assert result.bytes_read == 512
    assert result.requests == 6051
    assert (result.threads, result.connections) == (1, 1)


def test_a_result_survives_results_json():
    result = wrk.parse(ERRORS)
    data = result.to_dict()
    assert data["errors"] == 14
    assert wrk.WrkResult.from_dict(data) == result


@pytest.mark.parametrize(
    ("output", "missing"),
    [
        pytest.param("unable to connect to polls.djangoops.test:https Connection refused\n", "threads and", id="no-connection"),
        pytest.param(CLEAN.replace("  Latency Distribution\n", "").replace("     50%   59.80ms\n", ""), "Latency Distribution",
                     id="without-the-latency-flag"),
        pytest.param(CLEAN.replace("     99%  108.35ms\n", ""), "99%", id="a-percentile-missing"),
        pytest.param(CLEAN.replace("Requests/sec:    260.24\n", ""), "Requests/sec", id="cut-short"),
    ],
)
def test_an_incomplete_report_names_what_is_missing(output, missing):
    with pytest.raises(wrk.WrkOutputError) as raised:
        wrk.parse(output)
    assert missing in raised.value.missing
    # The output's end is in the message, for the log reader.
    assert output.strip().splitlines()[-1] in str(raised.value)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [("250", "us", 0.25), ("1.5", "ms", 1.5), ("2.00", "s", 2000.0), ("1.00", "m", 60000.0), ("1", "h", 3600000.0)],
)
def test_time_units(value, unit, expected):
    assert wrk.time_ms(value, unit) == pytest.approx(expected)


def test_an_unknown_unit_is_refused():
    with pytest.raises(ValueError, match="unknown wrk time unit 'd'"):
        wrk.time_ms("1", "d")


def test_version_from_wrk_v():
    assert wrk.parse_version("wrk 4.1.0 [epoll] Copyright (C) 2012 Will Glozer\nUsage: wrk <options> <url>\n") == "4.1.0"
    assert wrk.parse_version("OCI runtime exec failed: exec: \"wrk\": executable file not found in $PATH\n") is None


def test_command_through_the_proxy():
    argv = wrk.command("https://polls.djangoops.test/polls/", connections=16, seconds=20, script="/tmp/resolve.lua")
    assert argv == ["wrk", "--latency", "-t", "2", "-c", "16", "-d", "20s", "--timeout", "10s", "-s", "/tmp/resolve.lua",
                    "https://polls.djangoops.test/polls/"]


def test_command_never_has_more_threads_than_connections():
    argv = wrk.command("http://198.51.100.11:8000/polls/", connections=1, seconds=5, threads=2, headers=["Host: polls.djangoops.test"])
    assert argv[argv.index("-t") + 1] == "1"
    assert argv[argv.index("-H") + 1] == "Host: polls.djangoops.test"


@pytest.mark.parametrize(("total", "servers", "expected"), [(16, 1, [16]), (16, 2, [8, 8]), (16, 4, [4, 4, 4, 4]), (10, 4, [3, 3, 2, 2])])
def test_connections_are_shared_out(total, servers, expected):
    assert wrk.split_connections(total, servers) == expected


def test_too_few_connections_for_the_servers():
    with pytest.raises(ValueError, match="cannot share 3 connections among 4 servers"):
        wrk.split_connections(3, 4)


def test_concurrent_direct_runs_add_up_and_keep_the_worst_latency():
    combined = wrk.combine([wrk.parse(CLEAN), wrk.parse(ERRORS)])
    assert combined["requests_per_second"] == pytest.approx(260.24 + 50.55)
    assert combined["requests"] == 5210 + 1016
    assert combined["p50_ms"] == pytest.approx(1100.0)
    assert combined["p99_ms"] == pytest.approx(3050.0)
    assert combined["errors"] == 14
