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
import re
import statistics
import typing as t

SCHEMA = 1
ORDER = ("playbook", "served", "deploy", "renewal", "mitogen")

# Targets of issue 9 ("Speed and scale, measured").
PROXY_DIRECT_MIN = 0.90
SCALE_MIN = {2: 1.8, 4: 3.4}
NO_CHANGE_PING_MAX = 8.0
PLAYBOOK_SCALE = (2, 8)
PLAYBOOK_SCALE_MAX = 1.5
DEPLOY_MIN_REQUESTS = 5000

PASS, MISS, INVALID, NOT_MEASURED = "pass", "miss", "invalid", "not measured"


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
    }


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


def deploy_verdicts(record: dict[str, t.Any] | None) -> list[Verdict]:
    target = f"rolling deploy under load: 0 failed of >= {DEPLOY_MIN_REQUESTS:,} requests"
    if not _measured(record):
        return [_not_measured("deploy", target, record)]
    found = []
    for run in record.get("runs", []):
        measured, verdict = load_verdict(run.get("load"), min_requests=DEPLOY_MIN_REQUESTS)
        if run.get("returncode"):
            verdict = f"{INVALID}: deploy.yml failed (rc {run['returncode']})"
        found.append(Verdict("deploy", f"{target} ({app_servers(run['app_servers'])})", measured, verdict))
    return found


def renewal_verdicts(record: dict[str, t.Any] | None) -> list[Verdict]:
    target = "forced renewal + nginx reload under load: 0 failed requests"
    if not _measured(record):
        return [_not_measured("renewal", target, record)]
    measured, verdict = load_verdict(record.get("load"), min_requests=None)
    if record.get("returncode"):
        verdict = f"{INVALID}: renew.yml failed (rc {record['returncode']})"
    return [Verdict("renewal", target, measured, verdict)]


VERDICTS: dict[str, t.Callable[[dict[str, t.Any] | None], list[Verdict]]] = {
    "playbook": playbook_verdicts,
    "served": served_verdicts,
    "deploy": deploy_verdicts,
    "renewal": renewal_verdicts,
    "mitogen": mitogen_verdicts,
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
    rows = [["first converge of a fresh lab", low, _fmt(first.get("seconds")), _fmt(first.get("seconds")), "-"],
            ["`ansible all -m ping`", low, _fmt(summary["ping"]), _runs(record.get("ping", [])), "-"]]
    for servers, runs in sorted(scale.items()):
        changed = ", ".join(summary["scale_changed"][servers]) or "none"
        rows.append(["no-change site.yml", servers, _fmt(summary["scale"][servers]), _runs(runs), changed])
    lines += [table(["Run", "App servers", "Seconds (median)", "Each run (s)", "Hosts changed"], rows), ""]
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


def _deploy_section(record: dict[str, t.Any]) -> list[str]:
    settings = record.get("settings", {})
    lines = [
        (f"`playbooks/deploy.yml -e lab_app_version={settings.get('to', '-')}` (from {settings.get('from', '-')}), batches of"
         f" one server, `django_app_drain_seconds={settings.get('drain_seconds', '-')}`, while the lab client sends keep-alive"
         f" HTTPS requests to both proxies (tests/lab/files/load.py, {settings.get('load_workers', '-')} workers). Wall time"
         " includes pulling the release image where a server does not have it yet and the drain wait of every server."),
        "",
    ]
    rows = [[run["app_servers"], _fmt(run.get("seconds")), _fmt(ratio(run.get("seconds"), run["app_servers"])),
             *_load_cells(run.get("load"))] for run in record.get("runs", [])]
    lines += [table(["App servers", "Wall time (s)", "Per server (s)", "Requests", "Failed", "Retried", "Versions served"], rows)]
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


SECTIONS: dict[str, tuple[str, t.Callable[[dict[str, t.Any]], list[str]]]] = {
    "playbook": ("The playbook", _playbook_section),
    "served": ("The served site", _served_section),
    "deploy": ("Rolling deploys", _deploy_section),
    "renewal": ("Certificate renewal", _renewal_section),
    "mitogen": ("Mitogen", _mitogen_section),
}
PLOT_TITLES = {"served": "Requests/s through the proxy and direct", "playbook": "site.yml wall time",
               "deploy": "Rolling deploy wall time per app server"}


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
              [[v.benchmark, v.target, v.measured, f"**{v.verdict}**" if v.verdict != PASS else v.verdict] for v in verdicts(results)]),
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
