# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""wrk's report (``wrk --latency``) as numbers, and the command lines that produce it.

wrk prints (src/wrk.c, 4.x)::

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
      Socket errors: connect 0, read 3, write 0, timeout 2
      Non-2xx or 3xx responses: 4
    Requests/sec:    260.24
    Transfer/sec:      1.06MB

"Socket errors" and "Non-2xx or 3xx" lines appear only when a count is not zero. Times carry
wrk's units (us, ms, s, m, h), sizes binary prefixes (K, M, G, ...), Req/Sec metric ones (k, M).
Requests/sec counts every completed response, the failed ones too: ``errors`` says how many.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
BINARY_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
PERCENTILES = ("50", "75", "90", "99")
SOCKET_ERRORS = ("connect", "read", "write", "timeout")

_NUMBER = r"\d+(?:\.\d+)?"
_LATENCY = re.compile(rf"^\s+Latency\s+({_NUMBER})(us|ms|s|m|h)\s+({_NUMBER})(us|ms|s|m|h)\s+({_NUMBER})(us|ms|s|m|h)", re.MULTILINE)
_DISTRIBUTION = re.compile(rf"^\s+(\d+)%\s+({_NUMBER})(us|ms|s|m|h)\s*$", re.MULTILINE)
_TOTAL = re.compile(rf"^\s+(\d+) requests in ({_NUMBER})(us|ms|s|m|h), ({_NUMBER})([KMGTP]?)B read", re.MULTILINE)
_SOCKET_ERRORS_LINE = re.compile(r"^\s+Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE)
_NON_2XX = re.compile(r"^\s+Non-2xx or 3xx responses: (\d+)", re.MULTILINE)
_RATE = re.compile(rf"^Requests/sec:\s+({_NUMBER})\s*$", re.MULTILINE)
_TRANSFER = re.compile(rf"^Transfer/sec:\s+({_NUMBER})([KMGTP]?)B\s*$", re.MULTILINE)
_SETTINGS = re.compile(r"^\s+(\d+) threads and (\d+) connections", re.MULTILINE)


class WrkOutputError(ValueError):
    """wrk's output lacks a part of its report; the message names the part and shows the output."""

    def __init__(self, missing: str, output: str) -> None:
        tail = "\n".join(output.strip().splitlines()[-12:]) or "(no output)"
        super().__init__(f"wrk's report has no {missing}; its output ends with:\n{tail}")
        self.missing = missing


@dataclasses.dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency in milliseconds, and what went wrong."""

    requests: int
    seconds: float
    requests_per_second: float
    latency_avg_ms: float
    latency_max_ms: float
    latency_ms: dict[str, float]  # percentile ("50", "75", "90", "99") -> milliseconds
    socket_errors: dict[str, int]  # connect, read, write, timeout
    non_2xx_3xx: int
    bytes_read: int
    connections: int
    threads: int

    @property
    def p50_ms(self) -> float:
        return self.latency_ms["50"]

    @property
    def p99_ms(self) -> float:
        return self.latency_ms["99"]

    @property
    def errors(self) -> int:
        """Requests that did not get a 2xx/3xx answer: socket errors plus error statuses."""
        return sum(self.socket_errors.values()) + self.non_2xx_3xx

    def to_dict(self) -> dict[str, t.Any]:
        data = dataclasses.asdict(self)
        data["errors"] = self.errors
        return data

    @classmethod
    def from_dict(cls, data: dict[str, t.Any]) -> WrkResult:
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


def time_ms(value: str, unit: str) -> float:
    """A wrk time (``value`` in ``unit``: us, ms, s, m, h) in milliseconds."""
    try:
        return float(value) * TIME_UNITS_MS[unit]
    except KeyError:
        raise ValueError(f"unknown wrk time unit {unit!r} (expected one of {', '.join(TIME_UNITS_MS)})") from None


def binary_bytes(value: str, prefix: str) -> int:
    """A wrk size (``value`` with a binary ``prefix``: '', K, M, G, T, P) in bytes."""
    try:
        return round(float(value) * BINARY_UNITS[prefix])
    except KeyError:
        raise ValueError(f"unknown wrk size prefix {prefix!r}") from None


def _search(pattern: re.Pattern[str], output: str, missing: str) -> re.Match[str]:
    match = pattern.search(output)
    if match is None:
        raise WrkOutputError(missing, output)
    return match


def parse(output: str) -> WrkResult:
    """Parse the report of one ``wrk --latency`` run."""
    settings = _search(_SETTINGS, output, "'N threads and N connections' line")
    latency = _search(_LATENCY, output, "Latency line in its thread stats")
    if "Latency Distribution" not in output:
        raise WrkOutputError("'Latency Distribution' block (run wrk with --latency)", output)
    block = output.split("Latency Distribution", 1)[1]
    distribution = {match[1]: time_ms(match[2], match[3]) for match in _DISTRIBUTION.finditer(block)}
    missing = [p for p in PERCENTILES if p not in distribution]
    if missing:
        raise WrkOutputError(f"{', '.join(p + '%' for p in missing)} in its Latency Distribution", output)
    total = _search(_TOTAL, output, "'N requests in T, S read' line")
    rate = _search(_RATE, output, "Requests/sec line")
    socket = _SOCKET_ERRORS_LINE.search(output)
    non_2xx = _NON_2XX.search(output)
    return WrkResult(
        requests=int(total[1]),
        seconds=time_ms(total[2], total[3]) / 1000.0,
        requests_per_second=float(rate[1]),
        latency_avg_ms=time_ms(latency[1], latency[2]),
        latency_max_ms=time_ms(latency[5], latency[6]),
        latency_ms={p: distribution[p] for p in PERCENTILES},
        socket_errors=dict(zip(SOCKET_ERRORS, (int(n) for n in socket.groups()) if socket else (0, 0, 0, 0), strict=True)),
        non_2xx_3xx=int(non_2xx[1]) if non_2xx else 0,
        bytes_read=binary_bytes(total[4], total[5]),
        connections=int(settings[2]),
        threads=int(settings[1]),
    )


def parse_version(output: str) -> str | None:
    """The version in ``wrk -v``'s first line (``wrk 4.1.0 [epoll] Copyright ...``)."""
    match = re.search(r"^wrk (\S+)", output, re.MULTILINE)
    return match[1] if match else None


def command(url: str, *, connections: int, seconds: int, timeout_seconds: int = 10, threads: int = 2,
            headers: t.Sequence[str] = (), script: str | None = None) -> list[str]:
    """``wrk --latency`` for ``url``: ``threads`` never exceeds ``connections`` (wrk needs one per thread)."""
    if connections < 1 or seconds < 1:
        raise ValueError(f"wrk needs at least one connection and one second (got {connections}, {seconds})")
    argv = ["wrk", "--latency", "-t", str(min(threads, connections)), "-c", str(connections),
            "-d", f"{seconds}s", "--timeout", f"{timeout_seconds}s"]
    for header in headers:
        argv += ["-H", header]
    if script:
        argv += ["-s", script]
    return [*argv, url]


def split_connections(total: int, servers: int) -> list[int]:
    """``total`` connections shared out among ``servers`` direct runs (the first ones get the remainder)."""
    if servers < 1 or total < servers:
        raise ValueError(f"cannot share {total} connections among {servers} servers (at least one each)")
    share, rest = divmod(total, servers)
    return [share + (1 if index < rest else 0) for index in range(servers)]


def combine(results: t.Sequence[WrkResult]) -> dict[str, t.Any]:
    """Concurrent runs against several servers as one figure: requests/s and errors add up; wrk's
    latency percentiles cannot be merged, so the worst server's p50 and p99 stand for all."""
    if not results:
        raise ValueError("no wrk results to combine")
    return {
        "requests": sum(result.requests for result in results),
        "requests_per_second": sum(result.requests_per_second for result in results),
        "p50_ms": max(result.p50_ms for result in results),
        "p99_ms": max(result.p99_ms for result in results),
        "errors": sum(result.errors for result in results),
    }
