# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""benchmarks/lib/report.py: medians, ratios and verdicts against issue 9's targets, merging runs,
and RESULTS.md. The records have the shape bench.py writes; every expected ratio is worked out by
hand in the comment beside it."""

from __future__ import annotations

import copy
import pathlib
import sys

import pytest

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:
    sys.path.insert(0, str(CHECKOUT))

from benchmarks.lib import report, wrk  # pylint: disable=wrong-import-position

MACHINE = {"nproc": 2, "cpu_quota": None, "cpu_model": "AMD EPYC 7B13", "memory_gib": 7.8, "kernel": "6.1.0-18-amd64",
           "os": "Debian GNU/Linux 12 (bookworm)", "docker": "20.10.24+dfsg1", "ansible": "ansible [core 2.19.14]",
           "python": "3.11.7", "wrk": "4.1.0"}


def _wrk(rps: float, *, p50: float = 50.0, p99: float = 120.0, timeouts: int = 0, non_2xx: int = 0) -> dict:
    return wrk.WrkResult(
        requests=int(rps * 20), seconds=20.0, requests_per_second=rps, latency_avg_ms=p50, latency_max_ms=p99 * 2,
        latency_ms={"50": p50, "75": p50 * 1.2, "90": p50 * 1.5, "99": p99},
        socket_errors={"connect": 0, "read": 0, "write": 0, "timeout": timeouts}, non_2xx_3xx=non_2xx,
        bytes_read=1000, connections=16, threads=2,
    ).to_dict()


def _repeat(proxy: dict, *direct: dict, cpu: tuple[float | None, float | None] | None = None) -> dict:
    """One repeat; ``cpu`` is this machine's busy percent (proxy, direct), left out as in records
    written before it was measured."""
    repeat = {"proxy": proxy, "direct": [{"server": f"app{index}", "result": result} for index, result in enumerate(direct, 1)]}
    if cpu is not None:
        repeat["cpu_busy_percent"] = {"proxy": cpu[0], "direct": cpu[1]}
    return repeat


def _served() -> dict:
    return {
        "status": "measured", "date": "2026-03-02 10:00 UTC", "machine": MACHINE,
        "settings": {"seconds": 20, "connections": 16, "threads": 2, "timeout_seconds": 10, "cpus": 0.25,
                     "gunicorn_workers": 3, "gthread_threads": 4, "repeats": 2, "proxy": "198.51.100.10", "path": "/polls/"},
        "runs": [
            {"worker_class": "sync", "app_servers": 1, "repeats": [_repeat(_wrk(30.0), _wrk(40.0)), _repeat(_wrk(32.0), _wrk(40.0))]},
            {"worker_class": "sync", "app_servers": 2, "repeats": [
                _repeat(_wrk(60.0, non_2xx=3), _wrk(40.0), _wrk(41.0)), _repeat(_wrk(62.0), _wrk(40.0), _wrk(40.0))]},
            # The sync runs above have no CPU figures, like records written before they were measured.
            {"worker_class": "gthread", "app_servers": 1, "repeats": [
                _repeat(_wrk(48.0, p99=100.0), _wrk(52.0, p99=90.0), cpu=(80.2, 78.0)),
                _repeat(_wrk(50.0, p99=110.0), _wrk(54.0, p99=95.0), cpu=(84.0, None))]},
            {"worker_class": "gthread", "app_servers": 2, "repeats": [
                _repeat(_wrk(97.0), _wrk(50.0, p99=80.0), _wrk(51.0, p99=140.0), cpu=(96.0, 94.4)),
                _repeat(_wrk(99.0), _wrk(52.0), _wrk(50.0), cpu=(98.0, 95.8))]},
            {"worker_class": "gthread", "app_servers": 4, "repeats": [
                _repeat(_wrk(160.0), *[_wrk(50.0)] * 4, cpu=(99.6, None)), _repeat(_wrk(170.0), *[_wrk(50.0)] * 4, cpu=(99.0, None))]},
        ],
    }


def _runs(*seconds: float, changed: tuple[str, ...] = ()) -> list[dict]:
    return [{"seconds": value, "returncode": 0, "changed": list(changed) if index == 0 else [], "failed": []}
            for index, value in enumerate(seconds)]


def _playbook() -> dict:
    return {
        "status": "measured", "date": "2026-03-02 09:00 UTC", "machine": MACHINE, "settings": {"repeats": 3, "forks": 10},
        "first_converge": {"seconds": 300.0, "changed": ["app1", "app2", "proxy1", "proxy2"]},
        "ping": [{"seconds": 5.0, "returncode": 0}, {"seconds": 6.0, "returncode": 0}, {"seconds": 5.5, "returncode": 0}],
        "scale": [{"app_servers": 2, "runs": _runs(40.0, 44.0, 42.0)}, {"app_servers": 4, "runs": _runs(50.0, 52.0, 51.0)},
                  {"app_servers": 8, "runs": _runs(70.0, 66.0, 68.0)}],
        "tasks": {"first converge": [["djangoops.fleet.django_app : Pull the release image", 61.2]],
                  "no-change run": [["djangoops.fleet.certbot : Check the served certificate", 3.25]]},
    }


def _load(requests: int, failed: int = 0, retried: int = 0) -> dict:
    counts = {"requests": requests, "retried": retried, "status 200": requests - failed, "version 1.0.0": requests // 2,
              "version 1.1.0": requests - requests // 2}
    if failed:
        counts["failed"] = failed
    return {"started": 0, "seconds": 80.0, "counts": counts, "failures": ["1.000 198.51.100.10 HTTP 502"] * failed}


def _deploy() -> dict:
    return {"status": "measured", "date": "2026-03-02 11:00 UTC", "machine": MACHINE,
            "settings": {"from": "1.0.0", "to": "1.1.0", "drain_seconds": 20, "load_workers": 16},
            "runs": [{"app_servers": 2, "seconds": 90.0, "returncode": 0, "load": _load(6200, retried=3)},
                     {"app_servers": 4, "seconds": 200.0, "returncode": 0, "load": _load(9000, failed=2)}]}


def _results() -> dict:
    return {"schema": 1, "command": "python benchmarks/bench.py", "benchmarks": {
        "playbook": _playbook(), "served": _served(), "deploy": _deploy(),
        "renewal": {"status": "measured", "date": "2026-03-02 11:30 UTC", "machine": MACHINE, "settings": {}, "seconds": 25.0,
                    "returncode": 0, "load": _load(1500)},
        "mitogen": {"status": "measured", "date": "2026-03-02 12:00 UTC", "machine": MACHINE, "settings": {"repeats": 2},
                    "mitogen_version": "0.3.51", "default": _runs(60.0, 62.0), "mitogen": _runs(30.0, 31.0),
                    "finding": "Mitogen supports ansible-core 2.19 since 0.3.25."},
    }}


def _by_target(verdicts: list[report.Verdict]) -> dict[str, report.Verdict]:
    return {verdict.target: verdict for verdict in verdicts}


@pytest.mark.parametrize(("value", "op", "threshold", "expected"), [
    (0.93, ">=", 0.9, "pass"), (0.9, ">=", 0.9, "pass"), (0.89, ">=", 0.9, "miss"), (7.9, "<=", 8.0, "pass"),
    (8.1, "<=", 8.0, "miss"), (1.0, ">", 1.0, "miss"), (None, ">=", 0.9, "not measured"),
])
def test_judge(value, op, threshold, expected):
    assert report.judge(value, op, threshold) == expected


def test_served_rows_are_medians_of_the_repeats():
    rows = {(row["worker_class"], row["app_servers"]): row for row in report.served_rows(_served())}
    two = rows[("gthread", 2)]
    assert two["proxy_rps"] == pytest.approx(98.0)  # median of 97 and 99
    assert two["direct_rps"] == pytest.approx(101.5)  # median of 50+51 and 52+50
    assert two["ratio"] == pytest.approx(98.0 / 101.5)
    assert two["direct_p99"] == pytest.approx(130.0)  # worst server per repeat: 140 and 120
    one = rows[("gthread", 1)]
    assert one["proxy_p99"] == pytest.approx(105.0)
    assert rows[("sync", 2)]["proxy_errors"] == 3


def test_machine_cpu_busy_is_the_median_of_the_repeats():
    rows = {(row["worker_class"], row["app_servers"]): row for row in report.served_rows(_served())}
    assert (rows[("gthread", 2)]["proxy_cpu"], rows[("gthread", 2)]["direct_cpu"]) == (pytest.approx(97.0), pytest.approx(95.1))
    # A side measured in one repeat only: that repeat's figure; in none: unknown.
    assert (rows[("gthread", 1)]["proxy_cpu"], rows[("gthread", 1)]["direct_cpu"]) == (pytest.approx(82.1), 78.0)
    assert (rows[("gthread", 4)]["proxy_cpu"], rows[("gthread", 4)]["direct_cpu"]) == (pytest.approx(99.3), None)
    # Records written before the machine's CPU was sampled.
    assert (rows[("sync", 1)]["proxy_cpu"], rows[("sync", 1)]["direct_cpu"]) == (None, None)


@pytest.mark.parametrize(("proxy", "direct", "cell"), [(97.0, 95.1, "97 / 95"), (99.3, None, "99 / -"), (None, None, "-")])
def test_machine_cpu_busy_cell(proxy, direct, cell):
    assert report.cpu_busy_cell({"proxy_cpu": proxy, "direct_cpu": direct}) == cell


def test_served_verdicts():
    verdicts = _by_target(report.served_verdicts(_served()))
    ratio = verdicts["proxy / direct >= 0.90 (gthread, 2 app servers)"]
    assert (ratio.measured, ratio.verdict) == ("0.97 (98.0 / 101.5 req/s)", "pass")
    # 165 / 200 = 0.825
    assert verdicts["proxy / direct >= 0.90 (gthread, 4 app servers)"].verdict == "miss"
    # 31 / 40 = 0.775
    assert verdicts["proxy / direct >= 0.90 (sync, 1 app server)"].verdict == "miss"
    # 98 / 49 = 2.0
    assert verdicts["2 / 1 app servers through the proxy >= 1.8 (gthread)"].verdict == "pass"
    # 165 / 49 = 3.37
    four = verdicts["4 / 1 app servers through the proxy >= 3.4 (gthread)"]
    assert (four.measured, four.verdict) == ("3.37 (165.0 / 49.0 req/s)", "miss")


def test_failed_requests_make_a_served_ratio_invalid():
    verdicts = _by_target(report.served_verdicts(_served()))
    assert verdicts["proxy / direct >= 0.90 (sync, 2 app servers)"].verdict == "invalid: 3 failed requests through the proxy"
    assert verdicts["2 / 1 app servers through the proxy >= 1.8 (sync)"].verdict == "invalid: 3 failed requests with 2"
    assert verdicts["4 / 1 app servers through the proxy >= 3.4 (sync)"].verdict.startswith("not measured: no run with 1 and 4")


def test_the_better_worker_class():
    assert report.better_worker_class(_served()) == "gthread"  # 49 + 98 + 165 against 31 + 61


def test_playbook_verdicts():
    verdicts = report.playbook_verdicts(_playbook())
    # 42 / 5.5 = 7.64
    assert (verdicts[0].measured, verdicts[0].verdict) == ("7.64 (42.0 s / 5.5 s)", "pass")
    # 68 / 42 = 1.62
    assert (verdicts[1].measured, verdicts[1].verdict) == ("1.62 (68.0 s / 42.0 s)", "miss")


def test_a_no_change_run_that_changed_something_is_not_judged():
    record = _playbook()
    record["scale"][0]["runs"] = _runs(40.0, 44.0, 42.0, changed=("app2",))
    verdicts = report.playbook_verdicts(record)
    assert verdicts[0].verdict == "invalid: the no-change run changed app2"
    assert verdicts[1].verdict == "invalid: no-change runs changed app2"


def test_deploy_verdicts():
    verdicts = report.deploy_verdicts(_deploy())
    assert verdicts[0].verdict == "pass"
    assert verdicts[0].measured == "0 failed of 6,200 (3 retried on a closed keep-alive connection)"
    assert verdicts[1].verdict == "miss"
    assert verdicts[1].target.endswith("(4 app servers)")


def test_too_few_requests_are_not_a_pass():
    record = _deploy()
    record["runs"][0]["load"] = _load(4000)
    assert report.deploy_verdicts(record)[0].verdict == "miss: fewer than 5,000 requests"


def test_a_failed_deploy_is_invalid():
    record = _deploy()
    record["runs"][0]["returncode"] = 2
    assert report.deploy_verdicts(record)[0].verdict == "invalid: deploy.yml failed (rc 2)"


def test_renewal_and_mitogen_verdicts():
    results = _results()["benchmarks"]
    assert report.renewal_verdicts(results["renewal"])[0].verdict == "pass"
    mitogen = report.mitogen_verdicts(results["mitogen"])[0]
    assert (mitogen.measured, mitogen.verdict) == ("2.00x (61.0 s / 30.5 s)", "pass")


def test_what_was_not_measured_says_why():
    record = {"status": "not measured: mitogen is not installed beside Ansible", "finding": "..."}
    assert report.mitogen_verdicts(record)[0].verdict == "not measured: mitogen is not installed beside Ansible"
    assert report.served_verdicts({"status": "failed: wrk is missing"})[0].verdict == "not measured: failed: wrk is missing"
    assert report.renewal_verdicts(None)[0].verdict == "not measured: not run"


def test_every_benchmark_has_verdicts_in_order():
    benchmarks = [verdict.benchmark for verdict in report.verdicts(_results())]
    assert benchmarks == sorted(benchmarks, key=report.ORDER.index)
    assert set(benchmarks) == set(report.ORDER)


def test_a_later_run_replaces_only_its_own_benchmarks():
    previous = _results()
    rerun = {"status": "measured", "date": "2026-03-03 08:00 UTC", "runs": []}
    merged = report.merge(previous, {"command": "python benchmarks/bench.py --only deploy", "benchmarks": {"deploy": rerun}})
    assert merged["benchmarks"]["deploy"] is rerun
    assert merged["benchmarks"]["served"] == previous["benchmarks"]["served"]
    assert merged["command"] == "python benchmarks/bench.py --only deploy"
    assert report.merge(None, {"command": "x", "benchmarks": {}}) == {"schema": 1, "command": "x", "benchmarks": {}}


def test_results_md():
    text = report.render(_results(), plots={"served": "plots/served.png"})
    assert text.startswith("# Benchmark results\n")
    assert "python benchmarks/bench.py" in text
    # Machine facts of the latest record.
    for fact in ("| CPUs (nproc) | 2 |", "| CPU model | AMD EPYC 7B13 |", "| Memory (GiB) | 7.8 |", "| Kernel | 6.1.0-18-amd64 |",
                 "| Docker engine | 20.10.24+dfsg1 |", "| Date | 2026-03-02 12:00 UTC |", "| wrk (lab client) | 4.1.0 |"):
        assert fact in text
    # Every target with its verdict; misses stand out.
    assert "| served | proxy / direct >= 0.90 (gthread, 2 app servers) | 0.97 (98.0 / 101.5 req/s) | pass |" in text
    assert "| playbook | no-change site.yml, 8 / 2 app servers <= 1.5 | 1.62 (68.0 s / 42.0 s) | **miss** |" in text
    assert "| deploy | rolling deploy under load: 0 failed of >= 5,000 requests (2 app servers) |" in text
    # Raw figures: each run, the slowest tasks, the failures.
    assert "| no-change site.yml | 8 | 68.0 | 70.0, 66.0, 68.0 | none |" in text
    assert "| gthread | 2 | 2 | 99.0 | app1 52.0, app2 50.0 |" in text
    # The machine's CPU busy %, proxy / direct; "-" for the runs recorded without it.
    assert "| Proxy / direct | Machine CPU busy %, proxy / direct |" in text
    assert "| gthread | 2 | 98.0 | 50.0 | 120.0 | 0 | 101.5 | 50.0 | 130.0 | 0 | 0.97 | 97 / 95 |" in text
    assert "| gthread | 4 | 165.0 | 50.0 | 120.0 | 0 | 200.0 | 50.0 | 120.0 | 0 | 0.82 | 99 / - |" in text
    assert "| sync | 1 | 31.0 | 50.0 | 120.0 | 0 | 40.0 | 50.0 | 120.0 | 0 | 0.78 | - |" in text
    assert "Machine CPU busy %, proxy / direct: the share of this machine's CPU time" in text
    assert "| djangoops.fleet.django_app : Pull the release image | 61.20 |" in text
    assert "1.000 198.51.100.10 HTTP 502" in text
    assert "| 2 | 90.0 | 45.0 | 6,200 | 0 | 3 | 1.0.0: 3,100, 1.1.0: 3,100 |" in text
    assert "Higher throughput through the proxy, over all app server counts: **gthread** workers." in text
    assert "![Requests/s through the proxy and direct](plots/served.png)" in text
    assert "Mitogen supports ansible-core 2.19 since 0.3.25." in text
    # no-smart-quotes (ansible-test sanity) holds for the generated file too.
    assert not set(text) & {"\u2018", "\u2019", "\u201c", "\u201d"}


def test_results_md_of_a_partial_run():
    results = _results()
    del results["benchmarks"]["renewal"]
    results["benchmarks"]["mitogen"] = {"status": "not measured: mitogen is not installed beside Ansible", "date": "2026-03-02 12:00 UTC",
                                        "machine": dict(MACHINE, nproc=4), "finding": "Mitogen supports ansible-core 2.19 since 0.3.25."}
    results["benchmarks"]["served"]["settings"]["quick"] = True
    text = report.render(results, plots_note="Plots were not drawn: matplotlib is not installed.")
    assert "## Certificate renewal\n\nNot run yet." in text
    assert "**not measured: mitogen is not installed beside Ansible**" in text
    assert "Mitogen supports ansible-core 2.19 since 0.3.25." in text
    assert "**quick run**" in text
    assert "Plots were not drawn: matplotlib is not installed." in text
    # The other sections ran on the 2-CPU machine, the latest (mitogen) on a 4-CPU one.
    assert "On another machine than the one above: nproc 2." in text


def test_results_md_of_a_served_record_without_cpu_figures():
    # results.json written before the machine's CPU was sampled still renders, "-" in the new column.
    results = _results()
    for run in results["benchmarks"]["served"]["runs"]:
        for repeat in run["repeats"]:
            repeat.pop("cpu_busy_percent", None)
    text = report.render(results)
    assert "| gthread | 2 | 98.0 | 50.0 | 120.0 | 0 | 101.5 | 50.0 | 130.0 | 0 | 0.97 | - |" in text
    assert "| served | proxy / direct >= 0.90 (gthread, 2 app servers) | 0.97 (98.0 / 101.5 req/s) | pass |" in text
    assert "the share of this machine's CPU time" not in text


FINDINGS = """\
# Findings

A finding, written by hand after reading the tables below.

### Next

What to measure next.
"""


def test_findings_come_after_the_targets_and_before_the_benchmarks():
    text = report.render(_results(), findings=FINDINGS, plots_note="Plots were not drawn: matplotlib is not installed.")
    targets, findings, first_section = text.index("## Targets"), text.index("## Findings"), text.index("## The playbook")
    assert targets < findings < first_section
    assert text.index("| mitogen | ") < findings  # the last row of the targets table
    section = text[findings:first_section]
    assert section.startswith("## Findings\n\nWritten by hand in [FINDINGS.md](FINDINGS.md), beside this file.\n\n"
                              "A finding, written by hand after reading the tables below.\n\n"
                              "### Next\n\nWhat to measure next.\n\n")
    # Its own "# Findings" title is not repeated.
    assert text.count("Findings\n") == 1
    assert "# Findings" not in section[len("## Findings"):]


@pytest.mark.parametrize("findings", [None, "", "  \n\n", "## Findings\n\n"])
def test_no_findings_no_section(findings):
    text = report.render(_results(), findings=findings)
    assert "Findings" not in text
    assert text == report.render(_results())


def test_findings_without_a_title_are_kept_whole():
    lines = report.findings_lines("Sync workers lose to gthread by 2x.\n")
    assert lines == ["## Findings", "", "Written by hand in [FINDINGS.md](FINDINGS.md), beside this file.", "",
                     "Sync workers lose to gthread by 2x.", ""]


def test_rendering_does_not_change_the_results():
    results = _results()
    before = copy.deepcopy(results)
    report.render(results)
    assert results == before


def test_a_side_that_served_nothing_makes_a_served_ratio_invalid():
    # wrk reports neither refused nor timed-out connections as HTTP errors: 0 req/s is no figure.
    record = _served()
    for run in record["runs"]:
        if (run["worker_class"], run["app_servers"]) == ("gthread", 1):
            for repeat in run["repeats"]:
                repeat["proxy"]["requests_per_second"] = 0.0
    verdicts = _by_target(report.served_verdicts(record))
    assert verdicts["proxy / direct >= 0.90 (gthread, 1 app server)"].verdict == "invalid: no request served through the proxy"
    assert verdicts["2 / 1 app servers through the proxy >= 1.8 (gthread)"].verdict == "invalid: no request served with 1 app server"
