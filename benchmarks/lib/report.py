# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""From the raw measurements in results.json to ratios, verdicts against the targets of issue 9,
and benchmarks/RESULTS.md.

results.json holds ``{"schema": 1, "command": ..., "benchmarks": {name: record}}``; each record has
``status`` ("measured", "not measured: <why>" or "failed: <why>"), ``date``, ``machine`` and
``settings``, plus its own raw figures (see bench.py). Repeated measurements are summarised by
their median; a ratio is only judged when both of its sides are clean (no failed request, a
no-change run that changed nothing), otherwise its verdict is "invalid" and says why. A hand-written
FINDINGS.md, when there is one, is shown as RESULTS.md's "Findings" section, after the targets.
"""

from __future__ import annotations

import dataclasses
import math
import re
import statistics
import typing as t

from . import deploy_time

SCHEMA = 1
ORDER = ("playbook", "served", "deploy", "renewal", "mitogen", "suite")

# Targets of issue 9 ("Speed and scale, measured") and issue 24 (deploys, the suite's time).
PROXY_DIRECT_MIN = 0.90
SCALE_MIN = {2: 1.8, 4: 3.4}
NO_CHANGE_PING_MAX = 8.0
PLAYBOOK_SCALE = (2, 8)
PLAYBOOK_SCALE_MAX = 1.5
DEPLOY_DEFAULT_BATCH = "1"  # django_app_rolling_batch's default (playbooks/release.yml)
DEPLOY_TWO_MAX_SECONDS = 25.0
DEPLOY_FURTHER_SERVER_MAX_SECONDS = 10.0
DEPLOY_BATCHES = (8, "25%")  # app servers, django_app_rolling_batch: 4 batches of 2
DEPLOY_BATCHES_RATIO_MAX = 2.5
# Requests the load must have sent per second of a deploy: two thirds of what its 16 clients send with
# their 1-s pauses (bench.py --load-interval; about 15 req/s), so a load that stalled or ran for part of
# the deploy only is not taken for a clean one.
DEPLOY_MIN_REQUESTS_PER_SECOND = 10
SUITE_MAX_SECONDS = 50 * 60

PASS, MISS, INVALID, NOT_MEASURED, INFO = "pass", "miss", "invalid", "not measured", "info"


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One target of one benchmark: what was measured and whether it met the target."""

    benchmark: str
    target: str
    measured: str
    verdict: str  # pass, miss, "invalid: <why>", "not measured: <why>", or "info"

    @property
    def passed(self) -> bool:
        return self.verdict == PASS


def median(values: t.Iterable[float]) -> float | None:
    values = list(values)
    return statistics.median(values) if values else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def judge(value: float | None, op: str, threshold: float) -> str:
    """pass or miss for ``value <op> threshold`` (op: ">=", "<=", ">", "=="); not measured without a value."""
    if value is None:
        return NOT_MEASURED
    checks = {">=": value >= threshold, "<=": value <= threshold, ">": value > threshold, "==": value == threshold}
    if op not in checks:
        raise ValueError(f"unknown comparison {op!r}")
    return PASS if checks[op] else MISS


def app_servers(count: int) -> str:
    return f"{count} app server{'' if count == 1 else 's'}"


def _fmt(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "-" if value is None else f"{value:,.{digits}f}{suffix}"


def _measured(record: dict[str, t.Any] | None) -> bool:
    return bool(record) and record.get("status") == "measured"


def _not_measured(benchmark: str, target: str, record: dict[str, t.Any] | None) -> Verdict:
    status = (record or {}).get("status") or "not run"
    reason = status if status.startswith(NOT_MEASURED) else f"{NOT_MEASURED}: {status}"
    return Verdict(benchmark, target, "-", reason)


# --- The served site ------------------------------------------------------------------------------

def _direct_sum(repeat: dict[str, t.Any]) -> dict[str, t.Any]:
    """One repeat's concurrent direct runs as one figure (see wrk.combine): req/s and errors add up,
    the worst server's p50/p99 stand for all."""
    results = [entry["result"] for entry in repeat["direct"]]
    return {
        "requests_per_second": sum(result["requests_per_second"] for result in results),
        "latency_ms": {"50": max(result["latency_ms"]["50"] for result in results),
                       "99": max(result["latency_ms"]["99"] for result in results)},
        "errors": sum(result["errors"] for result in results),
    }


def _side(prefix: str, results: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    """Medians over the repeats of one side (proxy or direct), and all its failed requests."""
    return {
        f"{prefix}_rps": median(result["requests_per_second"] for result in results),
        f"{prefix}_p50": median(result["latency_ms"]["50"] for result in results),
        f"{prefix}_p99": median(result["latency_ms"]["99"] for result in results),
        f"{prefix}_errors": sum(result["errors"] for result in results),
    }


def _cpu_busy(repeats: list[dict[str, t.Any]], side: str) -> float | None:
    """Median over the repeats of this machine's CPU busy percent during one side's runs (records
    written before it was measured have none)."""
    return median(value for repeat in repeats
                  if (value := (repeat.get("cpu_busy_percent") or {}).get(side)) is not None)


def served_rows(record: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """One row per (worker class, app servers): medians over the repeats of the proxy run and of the
    summed direct runs, the worst p50/p99, every failed request of every repeat, and the median CPU
    busy percent of the machine during each side's runs."""
    rows = []
    for run in record.get("runs", []):
        repeats = run.get("repeats", [])
        row = {"worker_class": run["worker_class"], "app_servers": run["app_servers"], "repeats": len(repeats),
               **_side("proxy", [repeat["proxy"] for repeat in repeats]),
               **_side("direct", [_direct_sum(repeat) for repeat in repeats]),
               "proxy_cpu": _cpu_busy(repeats, "proxy"), "direct_cpu": _cpu_busy(repeats, "direct")}
        row["ratio"] = ratio(row["proxy_rps"], row["direct_rps"])
        rows.append(row)
    return rows


def _errors_reason(counts: dict[str, int], rates: dict[str, float | None] | None = None) -> str | None:
    """Why a ratio is not judged: failed requests on one of its sides (``{where: count}``), or a side
    that served no request at all (``{where: req/s}``): wrk counts neither as an error."""
    found = [f"{count} failed requests {where}" for where, count in counts.items() if count]
    found += [f"no request served {where}" for where, rate in (rates or {}).items() if not rate]
    return "; ".join(found) or None


def _proxy_direct_verdict(row: dict[str, t.Any]) -> Verdict:
    target = f"proxy / direct >= {PROXY_DIRECT_MIN:.2f} ({row['worker_class']}, {app_servers(row['app_servers'])})"
    measured = f"{_fmt(row['ratio'], 2)} ({_fmt(row['proxy_rps'])} / {_fmt(row['direct_rps'])} req/s)"
    problem = _errors_reason({"through the proxy": row["proxy_errors"], "direct": row["direct_errors"]},
                             {"through the proxy": row["proxy_rps"], "direct": row["direct_rps"]})
    return Verdict("served", target, measured, f"{INVALID}: {problem}" if problem else judge(row["ratio"], ">=", PROXY_DIRECT_MIN))


def _scaling_verdict(one: dict[str, t.Any] | None, many: dict[str, t.Any] | None, worker_class: str, servers: int) -> Verdict:
    minimum = SCALE_MIN[servers]
    target = f"{servers} / 1 app servers through the proxy >= {minimum} ({worker_class})"
    if one is None or many is None:
        return Verdict("served", target, "-", f"{NOT_MEASURED}: no run with 1 and {servers} app servers")
    value = ratio(many["proxy_rps"], one["proxy_rps"])
    measured = f"{_fmt(value, 2)} ({_fmt(many['proxy_rps'])} / {_fmt(one['proxy_rps'])} req/s)"
    problem = _errors_reason({"with 1 app server": one["proxy_errors"], f"with {servers}": many["proxy_errors"]},
                             {"with 1 app server": one["proxy_rps"], f"with {servers}": many["proxy_rps"]})
    return Verdict("served", target, measured, f"{INVALID}: {problem}" if problem else judge(value, ">=", minimum))


def served_verdicts(record: dict[str, t.Any] | None) -> list[Verdict]:
    if not _measured(record):
        target = f"proxy / direct >= {PROXY_DIRECT_MIN:.2f}; 2/1 >= {SCALE_MIN[2]}; 4/1 >= {SCALE_MIN[4]}"
        return [_not_measured("served", target, record)]
    rows = served_rows(record)
    found = [_proxy_direct_verdict(row) for row in rows]
    by_key = {(row["worker_class"], row["app_servers"]): row for row in rows}
    found += [_scaling_verdict(by_key.get((worker_class, 1)), by_key.get((worker_class, servers)), worker_class, servers)
              for worker_class in dict.fromkeys(row["worker_class"] for row in rows) for servers in SCALE_MIN]
    return found


def better_worker_class(record: dict[str, t.Any] | None) -> str | None:
    """The worker class with the higher median proxy req/s summed over the app server counts."""
    if not _measured(record):
        return None
    totals: dict[str, float] = {}
    for row in served_rows(record):
        totals[row["worker_class"]] = totals.get(row["worker_class"], 0.0) + (row["proxy_rps"] or 0.0)
    return max(totals, key=lambda name: totals[name]) if totals else None


# --- The playbook ---------------------------------------------------------------------------------

def _seconds(runs: t.Iterable[dict[str, t.Any]]) -> float | None:
    return median(run["seconds"] for run in runs)


def _changed(runs: t.Iterable[dict[str, t.Any]]) -> list[str]:
    return sorted({host for run in runs for host in run.get("changed", [])})


def _cpu_seconds(runs: t.Iterable[dict[str, t.Any]]) -> float | None:
    """Median controller CPU-seconds of the runs that have the figure (none before it was measured)."""
    return median(run["cpu_seconds"] for run in runs if run.get("cpu_seconds") is not None)


def playbook_summary(record: dict[str, t.Any]) -> dict[str, t.Any]:
    scale = {entry["app_servers"]: entry["runs"] for entry in record.get("scale", [])}
    low, high = PLAYBOOK_SCALE
    return {
        "first_converge": (record.get("first_converge") or {}).get("seconds"),
        "no_change": _seconds(scale.get(low, [])),
        "no_change_changed": _changed(scale.get(low, [])),
        "ping": _seconds(record.get("ping", [])),
        "scale": {servers: _seconds(runs) for servers, runs in sorted(scale.items())},
        "scale_changed": {servers: _changed(runs) for servers, runs in sorted(scale.items())},
        "ratio_ping": ratio(_seconds(scale.get(low, [])), _seconds(record.get("ping", []))),
        "ratio_scale": ratio(_seconds(scale.get(high, [])), _seconds(scale.get(low, []))),
        "first_converge_cpu": (record.get("first_converge") or {}).get("cpu_seconds"),
        "ping_cpu": _cpu_seconds(record.get("ping", [])),
        "scale_cpu": {servers: _cpu_seconds(runs) for servers, runs in sorted(scale.items())},
        "ratio_ping_cpu": ratio(_cpu_seconds(scale.get(low, [])), _cpu_seconds(record.get("ping", []))),
        "ratio_scale_cpu": ratio(_cpu_seconds(scale.get(high, [])), _cpu_seconds(scale.get(low, []))),
    }


def _cpu_info(target: str, value: float | None, numerator: float | None, denominator: float | None) -> Verdict:
    """A CPU-seconds ratio shown beside a wall-time target: information, not judged."""
    if value is None:
        return Verdict("playbook", target, "-", f"{NOT_MEASURED}: runs recorded before the controller's CPU-seconds were")
    return Verdict("playbook", target, f"{_fmt(value, 2)} ({_fmt(numerator)} / {_fmt(denominator)} CPU-s)", INFO)


def playbook_verdicts(record: dict[str, t.Any] | None) -> list[Verdict]:
    name = "playbook"
    low, high = PLAYBOOK_SCALE
    ping_target = f"no-change site.yml / ansible -m ping <= {NO_CHANGE_PING_MAX:g} ({low} app servers)"
    scale_target = f"no-change site.yml, {high} / {low} app servers <= {PLAYBOOK_SCALE_MAX}"
    if not _measured(record):
        return [_not_measured(name, ping_target, record), _not_measured(name, scale_target, record)]
    summary = playbook_summary(record)
    changed = summary["no_change_changed"]
    measured = f"{_fmt(summary['ratio_ping'], 2)} ({_fmt(summary['no_change'])} s / {_fmt(summary['ping'])} s)"
    verdict = f"{INVALID}: the no-change run changed {', '.join(changed)}" if changed else judge(summary["ratio_ping"], "<=", NO_CHANGE_PING_MAX)
    found = [Verdict(name, ping_target, measured, verdict)]
    changed = sorted({host for servers in (low, high) for host in summary["scale_changed"].get(servers, [])})
    value = summary["ratio_scale"]
    verdict = f"{INVALID}: no-change runs changed {', '.join(changed)}" if changed else judge(value, "<=", PLAYBOOK_SCALE_MAX)
    measured = f"{_fmt(value, 2)} ({_fmt(summary['scale'].get(high))} s / {_fmt(summary['scale'].get(low))} s)"
    found.append(Verdict(name, scale_target, measured, verdict))
    found.append(_cpu_info(f"the same, controller CPU-seconds: no-change site.yml / ping ({low} app servers)", summary["ratio_ping_cpu"],
                           summary["scale_cpu"].get(low), summary["ping_cpu"]))
    found.append(_cpu_info(f"the same, controller CPU-seconds: no-change site.yml, {high} / {low} app servers", summary["ratio_scale_cpu"],
                           summary["scale_cpu"].get(high), summary["scale_cpu"].get(low)))
    return found


# --- Mitogen --------------------------------------------------------------------------------------

def mitogen_summary(record: dict[str, t.Any]) -> dict[str, t.Any]:
    default, mitogen = _seconds(record.get("default", [])), _seconds(record.get("mitogen", []))
    return {"default": default, "mitogen": mitogen, "speedup": ratio(default, mitogen),
            "changed": _changed(record.get("default", [])) + _changed(record.get("mitogen", []))}


def mitogen_verdicts(record: dict[str, t.Any] | None) -> list[Verdict]:
    target = "mitogen_linear faster than the default strategy (no-change site.yml; ship as opt-in if so)"
    if not _measured(record):
        return [_not_measured("mitogen", target, record)]
    summary = mitogen_summary(record)
    measured = f"{_fmt(summary['speedup'], 2)}x ({_fmt(summary['default'])} s / {_fmt(summary['mitogen'])} s)"
    changed = summary["changed"]
    verdict = f"{INVALID}: no-change runs changed {', '.join(changed)}" if changed else judge(summary["speedup"], ">", 1.0)
    return [Verdict("mitogen", target, measured, verdict)]


# --- Deploys and renewals -------------------------------------------------------------------------

def load_verdict(load: dict[str, t.Any] | None, *, min_requests: int | None) -> tuple[str, str]:
    """(measured, verdict) for failed requests under load: pass needs 0 failed (of >= min_requests)."""
    if not load:
        return "-", f"{NOT_MEASURED}: no load summary"
    counts = load.get("counts", {})
    requests, failed = counts.get("requests", 0), counts.get("failed", 0)
    measured = f"{failed} failed of {requests:,} ({counts.get('retried', 0)} retried on a closed keep-alive connection)"
    if failed:
        return measured, MISS
    if min_requests is not None and requests < min_requests:
        return measured, f"{MISS}: fewer than {min_requests:,} requests"
    return measured, PASS


def deploy_batch(run: dict[str, t.Any]) -> str:
    """A deploy run's django_app_rolling_batch (records before issue 24 ran the default)."""
    return str(run.get("batch") or DEPLOY_DEFAULT_BATCH)


def batch_label(servers: int, batch: str) -> str:
    return f"{app_servers(servers)}, {'batches of one' if batch == DEPLOY_DEFAULT_BATCH else f'batches of {batch}'}"


def median_index(values: t.Sequence[float]) -> int:
    """Index of the run at the median (the lower middle one for an even count)."""
    order = sorted(range(len(values)), key=lambda index: values[index])
    return order[(len(order) - 1) // 2]


def median_run(runs: t.Sequence[dict[str, t.Any]]) -> dict[str, t.Any]:
    """The run at the median wall time (the lower middle one for an even count)."""
    return runs[median_index([run.get("seconds") or 0.0 for run in runs])]


def deploy_rows(record: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """One row per configuration (app servers, batch), in the order run: the median wall time of its
    runs, and the parts, tasks and CPU-seconds of its median run (parts that add up to its wall time)."""
    groups: dict[tuple[int, str], list[dict[str, t.Any]]] = {}
    for run in record.get("runs", []):
        groups.setdefault((run["app_servers"], deploy_batch(run)), []).append(run)
    rows = []
    for (servers, batch), runs in groups.items():
        middle = median_run(runs)
        rows.append({"app_servers": servers, "batch": batch, "runs": runs, "seconds": _seconds(runs), "parts": middle.get("parts"),
                     "tasks_run": middle.get("tasks_run"), "cpu_seconds": middle.get("cpu_seconds"), "slowest": middle.get("slowest") or []})
    return rows


def deploy_min_requests(seconds: float) -> int:
    """The requests a clean run under load must have seen: DEPLOY_MIN_REQUESTS_PER_SECOND of its wall time."""
    return math.ceil(DEPLOY_MIN_REQUESTS_PER_SECOND * seconds)


def _deploy_time_problem(record: dict[str, t.Any], rows: t.Iterable[dict[str, t.Any] | None]) -> str | None:
    """Why a wall-time target is not judged: not the shipped defaults, or a deploy.yml that failed."""
    settings = record.get("settings") or {}
    if not settings.get("shipped_defaults"):
        return f"measured with django_app_drain_seconds={settings.get('drain_seconds', '?')}, not the shipped defaults"
    failed = [f"rc {run['returncode']} with {app_servers(row['app_servers'])}"
              for row in rows if row for run in row["runs"] if run.get("returncode")]
    return f"deploy.yml failed ({', '.join(failed)})" if failed else None


def _deploy_time_verdict(record: dict[str, t.Any], target: str, needed: dict[str, dict[str, t.Any] | None], value: float | None,
                         measured: str, threshold: float) -> Verdict:
    """A wall-time target over the configurations it needs (``{label: row or None}``)."""
    missing = [label for label, row in needed.items() if row is None]
    if missing:
        return Verdict("deploy", target, "-", f"{NOT_MEASURED}: no run with {' or '.join(missing)}")
    problem = _deploy_time_problem(record, needed.values())
    return Verdict("deploy", target, measured, f"{INVALID}: {problem}" if problem else judge(value, "<=", threshold))


def _difference(later: float | None, earlier: float | None, servers: int) -> float | None:
    """Seconds each of ``servers`` further app servers added."""
    return None if later is None or earlier is None else (later - earlier) / servers


def _deploy_load_verdict(row: dict[str, t.Any]) -> Verdict:
    """0 failed requests in every run of a configuration, each run with enough requests to count."""
    target = (f"rolling deploy under load: 0 failed requests, >= {DEPLOY_MIN_REQUESTS_PER_SECOND} a second of each run"
              f" ({batch_label(row['app_servers'], row['batch'])})")
    runs = row["runs"]
    if any(not run.get("load") for run in runs):
        return Verdict("deploy", target, "-", f"{NOT_MEASURED}: no load summary")
    counts = [run["load"].get("counts", {}) for run in runs]
    requests, failed = sum(count.get("requests", 0) for count in counts), sum(count.get("failed", 0) for count in counts)
    measured = (f"{failed} failed of {requests:,} in {len(runs)} run{'' if len(runs) == 1 else 's'}"
                f" ({sum(count.get('retried', 0) for count in counts)} retried on a closed keep-alive connection)")
    if any(run.get("returncode") for run in runs):
        return Verdict("deploy", target, measured, f"{INVALID}: deploy.yml failed")
    if failed:
        return Verdict("deploy", target, measured, MISS)
    for run, count in zip(runs, counts):
        least = deploy_min_requests(run.get("seconds") or 0.0)
        if count.get("requests", 0) < least:
            return Verdict("deploy", target, measured,
                           f"{MISS}: {count.get('requests', 0):,} requests in a {_fmt(run.get('seconds'))} s run, fewer than {least:,}")
    return Verdict("deploy", target, measured, PASS)


def deploy_verdicts(record: dict[str, t.Any] | None) -> list[Verdict]:
    """Wall time with 2 app servers, the cost of each further server, 8 in percentage batches
    against 2, and no failed request in any run."""
    batches, percent = DEPLOY_BATCHES
    targets = [
        f"rolling deploy, {batch_label(2, DEPLOY_DEFAULT_BATCH)}: wall time <= {DEPLOY_TWO_MAX_SECONDS:g} s",
        f"each further app server, batches of one: (t(4) - t(2)) / 2 <= {DEPLOY_FURTHER_SERVER_MAX_SECONDS:g} s",
        f"each further app server, batches of one: t(3) - t(2) <= {DEPLOY_FURTHER_SERVER_MAX_SECONDS:g} s",
        f"{batches} app servers in {percent} batches / 2 in batches of one <= {DEPLOY_BATCHES_RATIO_MAX:g}",
    ]
    if record is None or not _measured(record):
        return [_not_measured("deploy", target, record) for target in targets]
    rows = deploy_rows(record)
    by_key = {(row["app_servers"], row["batch"]): row for row in rows}
    named = {servers: (batch_label(servers, DEPLOY_DEFAULT_BATCH), by_key.get((servers, DEPLOY_DEFAULT_BATCH))) for servers in (2, 3, 4)}
    named[batches] = (batch_label(batches, percent), by_key.get((batches, percent)))
    seconds = {servers: row["seconds"] if row else None for servers, (_label, row) in named.items()}

    def needed(*servers: int) -> dict[str, dict[str, t.Any] | None]:
        return dict(named[count] for count in servers)

    per_four, per_three, scale = _difference(seconds[4], seconds[2], 2), _difference(seconds[3], seconds[2], 1), ratio(seconds[batches], seconds[2])
    runs_of_two = len(named[2][1]["runs"]) if named[2][1] else 0
    found = [
        _deploy_time_verdict(record, targets[0], needed(2), seconds[2], f"{_fmt(seconds[2])} s (median of {runs_of_two})", DEPLOY_TWO_MAX_SECONDS),
        _deploy_time_verdict(record, targets[1], needed(2, 4), per_four, f"{_fmt(per_four)} s (({_fmt(seconds[4])} - {_fmt(seconds[2])}) / 2)",
                             DEPLOY_FURTHER_SERVER_MAX_SECONDS),
        _deploy_time_verdict(record, targets[2], needed(2, 3), per_three, f"{_fmt(per_three)} s ({_fmt(seconds[3])} - {_fmt(seconds[2])})",
                             DEPLOY_FURTHER_SERVER_MAX_SECONDS),
        _deploy_time_verdict(record, targets[3], needed(2, batches), scale, f"{_fmt(scale, 2)} ({_fmt(seconds[batches])} s / {_fmt(seconds[2])} s)",
                             DEPLOY_BATCHES_RATIO_MAX),
    ]
    return found + [_deploy_load_verdict(row) for row in rows]


def renewal_verdicts(record: dict[str, t.Any] | None) -> list[Verdict]:
    target = "forced renewal + nginx reload under load: 0 failed requests"
    if not _measured(record):
        return [_not_measured("renewal", target, record)]
    measured, verdict = load_verdict(record.get("load"), min_requests=None)
    if record.get("returncode"):
        verdict = f"{INVALID}: renew.yml failed (rc {record['returncode']})"
    return [Verdict("renewal", target, measured, verdict)]


# --- The test suite ------------------------------------------------------------------------------

def minutes(seconds: float | None) -> str:
    """``"46 min 45 s"``."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60} s"


def suite_verdicts(record: dict[str, t.Any] | None) -> list[Verdict]:
    target = f"make test <= {SUITE_MAX_SECONDS // 60} min on this machine with the lab images present"
    if record is None or not _measured(record):
        return [_not_measured("suite", target, record)]
    seconds, exit_code = record.get("seconds"), record.get("exit_code")
    measured = f"{minutes(seconds)} (exit code {exit_code}, commit {record.get('commit', '-')}, ended {record.get('end', '-')})"
    if exit_code != 0:
        return [Verdict("suite", target, measured, f"{INVALID}: make test failed (exit code {exit_code})")]
    return [Verdict("suite", target, measured, judge(seconds, "<=", SUITE_MAX_SECONDS))]


VERDICTS: dict[str, t.Callable[[dict[str, t.Any] | None], list[Verdict]]] = {
    "playbook": playbook_verdicts,
    "served": served_verdicts,
    "deploy": deploy_verdicts,
    "renewal": renewal_verdicts,
    "mitogen": mitogen_verdicts,
    "suite": suite_verdicts,
}


def verdicts(results: dict[str, t.Any]) -> list[Verdict]:
    benchmarks = results.get("benchmarks", {})
    return [verdict for name in ORDER for verdict in VERDICTS[name](benchmarks.get(name))]


def merge(previous: dict[str, t.Any] | None, new: dict[str, t.Any]) -> dict[str, t.Any]:
    """New records replace the previous ones of the same benchmark; the others are kept."""
    benchmarks = dict((previous or {}).get("benchmarks", {}))
    benchmarks.update(new.get("benchmarks", {}))
    return {"schema": SCHEMA, "command": new.get("command"), "benchmarks": benchmarks}


# --- RESULTS.md -----------------------------------------------------------------------------------

MACHINE_FIELDS = (
    ("nproc", "CPUs (nproc)"), ("cpu_quota", "CPU quota of this machine's cgroup"), ("cpu_model", "CPU model"),
    ("memory_gib", "Memory (GiB)"), ("kernel", "Kernel"), ("os", "OS"), ("docker", "Docker engine"),
    ("ansible", "Ansible"), ("python", "Python (bench.py)"), ("wrk", "wrk (lab client)"),
)
COMPARED_FACTS = ("nproc", "cpu_model", "memory_gib", "cpu_quota")


def table(headers: t.Sequence[str], rows: t.Iterable[t.Sequence[t.Any]]) -> str:
    def cell(value: t.Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _latest(benchmarks: dict[str, t.Any]) -> dict[str, t.Any]:
    dated = [record for record in benchmarks.values() if record.get("date")]
    return max(dated, key=lambda record: record["date"]) if dated else {}


def _section_header(title: str, record: dict[str, t.Any] | None, reference: dict[str, t.Any]) -> list[str]:
    lines = [f"## {title}", ""]
    if not record:
        return [*lines, "Not run yet.", ""]
    note = f"Measured {record.get('date', '?')}"
    if (record.get("settings") or {}).get("quick"):
        note += " in a **quick run** (`--quick`: shorter and fewer runs, figures indicative only)"
    lines.append(note + ".")
    machine = record.get("machine") or {}
    differs = [key for key in COMPARED_FACTS if machine.get(key) != reference.get(key)]
    if machine and differs:
        lines.append("On another machine than the one above: " + ", ".join(f"{key} {machine.get(key)}" for key in differs) + ".")
    if record.get("status") != "measured":
        lines.append(f"**{record.get('status')}**" + (f" (log: `{record['log']}`)" if record.get("log") else ""))
    return [*lines, ""]


def _runs(runs: t.Iterable[dict[str, t.Any]]) -> str:
    return ", ".join(_fmt(run["seconds"]) for run in runs) or "-"


def _playbook_section(record: dict[str, t.Any]) -> list[str]:
    summary = playbook_summary(record)
    settings = record.get("settings", {})
    scale = {entry["app_servers"]: entry["runs"] for entry in record.get("scale", [])}
    low = PLAYBOOK_SCALE[0]
    lines = [
        ("Wall time of `ansible-playbook playbooks/site.yml` on the lab (the shipped ansible.cfg: pipelining,"
         f" ControlPersist, forks {settings.get('forks', '-')}), each run with fresh SSH connections (a ControlPath"
         " directory of its own), against `ansible all -m ansible.builtin.ping` of the same hosts, also with fresh"
         f" connections; runs alternate, median of {settings.get('repeats', '-')}. Extra app servers come from a generated"
         " inventory beside `inventories/lab`; each count is converged once before its no-change runs."),
        "",
    ]
    first = record.get("first_converge") or {}
    rows = [["first converge of a fresh lab", low, _fmt(first.get("seconds")), _fmt(first.get("seconds")),
             _fmt(summary["first_converge_cpu"]), "-"],
            ["`ansible all -m ping`", low, _fmt(summary["ping"]), _runs(record.get("ping", [])), _fmt(summary["ping_cpu"]), "-"]]
    for servers, runs in sorted(scale.items()):
        changed = ", ".join(summary["scale_changed"][servers]) or "none"
        rows.append(["no-change site.yml", servers, _fmt(summary["scale"][servers]), _runs(runs), _fmt(summary["scale_cpu"][servers]), changed])
    lines += [table(["Run", "App servers", "Seconds (median)", "Each run (s)", "Controller CPU-s (median)", "Hosts changed"], rows), ""]
    high = PLAYBOOK_SCALE[1]
    if summary["ratio_ping_cpu"] is not None or summary["ratio_scale_cpu"] is not None:
        lines += [(f"Ratios, wall time and controller CPU-seconds: no-change / ping {_fmt(summary['ratio_ping'], 2)} and"
                   f" {_fmt(summary['ratio_ping_cpu'], 2)}; {high} / {low} app servers {_fmt(summary['ratio_scale'], 2)} and"
                   f" {_fmt(summary['ratio_scale_cpu'], 2)}. Controller CPU-seconds: user + system time of ansible-playbook (or"
                   " ansible) and the processes it waited for (its forks, their ssh clients), from getrusage; not the SSH"
                   " masters ControlPersist keeps in the background, nor anything in the lab's containers."), ""]
    for title, tasks in (record.get("tasks") or {}).items():
        if tasks:
            lines += [f"Slowest tasks of the {title} (ansible.posix.profile_tasks):", "",
                      table(["Task", "Seconds"], [[name, _fmt(seconds, 2)] for name, seconds in tasks]), ""]
    return lines


CPU_BUSY_HEADER = "Machine CPU busy %, proxy / direct"


def cpu_busy_cell(row: dict[str, t.Any]) -> str:
    """``"97 / 95"``; "-" when the record predates the measurement (or for a side not measured)."""
    if row.get("proxy_cpu") is None and row.get("direct_cpu") is None:
        return "-"
    return f"{_fmt(row.get('proxy_cpu'), 0)} / {_fmt(row.get('direct_cpu'), 0)}"


def _served_section(record: dict[str, t.Any]) -> list[str]:
    settings = record.get("settings", {})
    lines = [
        (f"`wrk --latency -t {settings.get('threads', '-')} -c {settings.get('connections', '-')}"
         f" -d {settings.get('seconds', '-')}s --timeout {settings.get('timeout_seconds', '-')}s` from the lab client,"
         f" GET {settings.get('path', '-')}: through proxy1 over HTTPS ({settings.get('proxy', '-')}, keep-alive, the"
         " site's name as SNI and Host), then straight to each app server's published port over HTTP, one wrk per server"
         " at the same time, the connections shared out among them, their req/s added up. Every app container capped at"
         f" {settings.get('cpus', '-')} CPU, Gunicorn {settings.get('gunicorn_workers', '-')} workers (gthread:"
         f" {settings.get('gthread_threads', '-')} threads each). One app server is app1 with app2 drained"
         " (`nginx_proxy_upstream_drain`). The lab client was let through the app servers' firewall for the direct runs"
         f" (`ufw_docker_extra_allowed_sources`). Median of {settings.get('repeats', '-')} runs; latency of the direct"
         " runs is the worst server's."),
        "",
    ]
    found = served_rows(record)
    rows = [[row["worker_class"], row["app_servers"], _fmt(row["proxy_rps"]), _fmt(row["proxy_p50"]), _fmt(row["proxy_p99"]),
             row["proxy_errors"], _fmt(row["direct_rps"]), _fmt(row["direct_p50"]), _fmt(row["direct_p99"]), row["direct_errors"],
             _fmt(row["ratio"], 2), cpu_busy_cell(row)] for row in found]
    lines.append(table(["Workers", "App servers", "Proxy req/s", "p50 ms", "p99 ms", "Errors", "Direct req/s", "p50 ms",
                        "p99 ms", "Errors", "Proxy / direct", CPU_BUSY_HEADER], rows))
    if any(cpu_busy_cell(row) != "-" for row in found):
        lines += ["", (f"{CPU_BUSY_HEADER}: the share of this machine's CPU time, all CPUs (`/proc/stat`), that was not idle"
                       " during the runs, median of the repeats. The lab's containers, its client and wrk all run on this"
                       " machine: near 100 they competed for CPU, and the load generator may be what limited req/s.")]
    better = better_worker_class(record)
    if better:
        lines += ["", f"Higher throughput through the proxy, over all app server counts: **{better}** workers."]
    raw = []
    for run in record.get("runs", []):
        for index, repeat in enumerate(run.get("repeats", []), 1):
            direct = ", ".join(f"{entry['server']} {_fmt(entry['result']['requests_per_second'])}" for entry in repeat["direct"])
            raw.append([run["worker_class"], run["app_servers"], index, _fmt(repeat["proxy"]["requests_per_second"]), direct])
    if raw:
        lines += ["", "Each run (req/s):", "", table(["Workers", "App servers", "Run", "Proxy", "Direct, per server"], raw)]
    return [*lines, ""]


def _load_cells(load: dict[str, t.Any] | None) -> list[t.Any]:
    counts = (load or {}).get("counts", {})
    versions = ", ".join(f"{key[len('version '):]}: {value:,}" for key, value in sorted(counts.items()) if key.startswith("version "))
    return [f"{counts.get('requests', 0):,}", counts.get("failed", 0), counts.get("retried", 0), versions or "-"]


def _summed_load(runs: t.Iterable[dict[str, t.Any]]) -> dict[str, t.Any]:
    """The load summaries of several runs as one: every count added up."""
    counts: dict[str, int] = {}
    for run in runs:
        for key, value in ((run.get("load") or {}).get("counts") or {}).items():
            counts[key] = counts.get(key, 0) + value
    return {"counts": counts}


def _part_cells(parts: dict[str, t.Any] | None) -> list[str]:
    if not parts:
        return ["-", "-", "-", "-"]
    return [*(_fmt(parts.get(part)) for part in deploy_time.PARTS), deploy_time.PART_TITLES.get(deploy_time.bound(parts) or "", "-")]


def _deploy_description(settings: dict[str, t.Any]) -> str:
    drain = settings.get("drain_seconds", "-")
    drain_note = (f"the shipped defaults (`django_app_drain_seconds` {drain}, the role's default)" if settings.get("shipped_defaults")
                  else f"`django_app_drain_seconds={drain}`")
    return (f"`playbooks/deploy.yml -e lab_app_version={settings.get('to', '-')}` (from {settings.get('from', '-')}) with {drain_note},"
            " batches of one server unless a percentage is given (`-e django_app_rolling_batch=...`), while the lab client sends"
            f" keep-alive HTTPS requests to both proxies (tests/lab/files/load.py, {settings.get('load_workers', '-')} workers);"
            f" each run followed by a deploy back to {settings.get('from', '-')}, median of {settings.get('repeats', 1)}. The parts of"
            " the median run, from ansible.posix.profile_tasks: **drain** (taking servers out of the proxies' upstreams, reloading"
            " Nginx, the wait for requests in flight, putting them back), **container start + health** (the app container replaced"
            " and its health check waited for), **rest** (every other task: SSH round trips, preflight checks, the release's one-off"
            " steps, the lock; and Ansible's start-up). A run's first deploy may pull the release image where a server lacks it.")


def _deploy_section(record: dict[str, t.Any]) -> list[str]:
    lines = [_deploy_description(record.get("settings", {})), ""]
    found = deploy_rows(record)
    rows = [[row["app_servers"], "1 (default)" if row["batch"] == DEPLOY_DEFAULT_BATCH else row["batch"], _fmt(row["seconds"]), _runs(row["runs"]),
             *_part_cells(row["parts"]), "-" if row["tasks_run"] is None else row["tasks_run"], _fmt(row["cpu_seconds"]),
             *_load_cells(_summed_load(row["runs"]))] for row in found]
    lines += [table(["App servers", "Batch", "Wall time (s, median)", "Each run (s)", "Drain (s)", "Container + health (s)", "Rest (s)",
                     "Bound by", "Tasks run", "Controller CPU-s", "Requests", "Failed", "Retried", "Versions served"], rows)]
    slowest = [[batch_label(row["app_servers"], row["batch"]), name, _fmt(seconds, 2)] for row in found for name, seconds in row["slowest"]]
    if slowest:
        lines += ["", "Slowest tasks of each configuration's median run (ansible.posix.profile_tasks):", "",
                  table(["Deploy", "Task", "Seconds"], slowest)]
    failures = [failure for run in record.get("runs", []) for failure in (run.get("load") or {}).get("failures", [])]
    if failures:
        lines += ["", "First failed requests:", "", "```", *failures[:10], "```"]
    return [*lines, ""]


def _renewal_section(record: dict[str, t.Any]) -> list[str]:
    lines = [("`playbooks/renew.yml -e certbot_force=true` (renew on proxy1, copy to proxy2, nginx reloaded with HUP"
              " where the certificate changed) while the lab client sends keep-alive HTTPS requests to both proxies."), ""]
    lines.append(table(["Wall time (s)", "Requests", "Failed", "Retried", "Versions served"],
                       [[_fmt(record.get("seconds")), *_load_cells(record.get("load"))]]))
    failures = (record.get("load") or {}).get("failures", [])
    if failures:
        lines += ["", "First failed requests:", "", "```", *failures[:10], "```"]
    return [*lines, ""]


def _mitogen_section(record: dict[str, t.Any]) -> list[str]:
    lines = [(f"Mitogen {record.get('mitogen_version', '-')}: no-change `site.yml` runs with `ANSIBLE_STRATEGY=mitogen_linear`"
              " against the default (linear) strategy, alternating, fresh connections each; median of"
              f" {(record.get('settings') or {}).get('repeats', '-')}."), ""]
    if record.get("status") == "measured":
        summary = mitogen_summary(record)
        lines.append(table(["Strategy", "Seconds (median)", "Each run (s)"], [
            ["linear (default)", _fmt(summary["default"]), _runs(record.get("default", []))],
            ["mitogen_linear", _fmt(summary["mitogen"]), _runs(record.get("mitogen", []))],
        ]))
    if record.get("finding"):
        lines += ["", record["finding"]]
    return [*lines, ""]


def _suite_section(record: dict[str, t.Any]) -> list[str]:
    lines = [("The newest finished run of `make test` (scripts/test.sh: the static checks beside the molecule scenario on the lab),"
              f" as scripts/test.sh recorded it in `{record.get('file', '-')}`."), ""]
    lines.append(table(["Started (UTC)", "Ended (UTC)", "Wall time", "Exit code", "Commit", "CPUs (nproc)"], [[
        record.get("start", "-"), record.get("end", "-"), f"{minutes(record.get('seconds'))} ({_fmt(record.get('seconds'), 0)} s)",
        record.get("exit_code", "-"), record.get("commit", "-"), record.get("nproc", "-")]]))
    return [*lines, ""]


SECTIONS: dict[str, tuple[str, t.Callable[[dict[str, t.Any]], list[str]]]] = {
    "playbook": ("The playbook", _playbook_section),
    "served": ("The served site", _served_section),
    "deploy": ("Rolling deploys", _deploy_section),
    "renewal": ("Certificate renewal", _renewal_section),
    "mitogen": ("Mitogen", _mitogen_section),
    "suite": ("The test suite", _suite_section),
}
PLOT_TITLES = {"served": "Requests/s through the proxy and direct", "playbook": "site.yml wall time",
               "deploy": "Rolling deploy wall time by app servers"}


def findings_lines(findings: str | None) -> list[str]:
    """The "Findings" section from the text of the hand-written FINDINGS.md (nothing when there is
    none or it is empty). A heading of its own that only says "Findings" is dropped: the section has one."""
    lines = (findings or "").strip().splitlines()
    if lines and re.fullmatch(r"#+\s*findings\s*#*", lines[0].strip(), re.IGNORECASE):
        lines = lines[1:]
    text = "\n".join(lines).strip()
    if not text:
        return []
    return ["## Findings", "", "Written by hand in [FINDINGS.md](FINDINGS.md), beside this file.", "", text, ""]


def render(results: dict[str, t.Any], *, plots: t.Mapping[str, str] | None = None, plots_note: str | None = None,
           findings: str | None = None) -> str:
    """RESULTS.md for ``results``; ``plots`` maps a benchmark to its PNG's path relative to RESULTS.md;
    ``findings`` is the text of the hand-written FINDINGS.md, shown after the targets."""
    benchmarks = results.get("benchmarks", {})
    latest = _latest(benchmarks)
    machine = dict(latest.get("machine") or {})
    lines = [
        "# Benchmark results",
        "",
        ("Written by `benchmarks/bench.py`; do not edit by hand. Every ratio compares figures measured side by side in one"
         " run of its benchmark (this machine is shared and noisy: absolute figures drift between runs). How each benchmark"
         " works and why: [README.md](README.md)."),
        "",
        "Reproduce with `make bench` (all benchmarks, on a fresh lab). This file was last written by:",
        "",
        "```sh",
        results.get("command") or "make bench",
        "```",
        "",
        "## Machine",
        "",
        table(["Fact", "Value"], [["Date", latest.get("date", "-")]]
              + [[label, "-" if machine.get(key) is None else machine[key]] for key, label in MACHINE_FIELDS]),
        "",
        "## Targets",
        "",
        table(["Benchmark", "Target", "Measured", "Verdict"],
              [[v.benchmark, v.target, v.measured, v.verdict if v.verdict in (PASS, INFO) else f"**{v.verdict}**"] for v in verdicts(results)]),
        "",
        *findings_lines(findings),
    ]
    if plots_note:
        lines += [plots_note, ""]
    for name in ORDER:
        title, section = SECTIONS[name]
        record = benchmarks.get(name)
        lines += _section_header(title, record, machine)
        if record and (record.get("status") == "measured" or name == "mitogen"):
            lines += section(record)
        if record and plots and name in plots:
            lines += [f"![{PLOT_TITLES.get(name, name)}]({plots[name]})", ""]
    return "\n".join(lines).rstrip() + "\n"
