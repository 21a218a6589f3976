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


def _deploy_run(servers: int, seconds: float, *, batch: str = "1", requests: int = 1800, failed: int = 0, returncode: int = 0) -> dict:
    return {"app_servers": servers, "batch": batch, "seconds": seconds, "returncode": returncode, "cpu_seconds": round(seconds * 0.8, 2),
            "parts": {"drain": 6.0, "container": 4.0, "rest": round(seconds - 10.0, 2)}, "tasks_run": 200 + servers * 10,
            "slowest": [["djangoops.fleet.nginx_proxy : Let the requests in flight finish", 2.3]], "load": _load(requests, failed)}


def _deploy() -> dict:
    """Medians: 2 app servers 23 s, 3 32 s, 4 46 s, 8 in 25% batches 56 s."""
    return {"status": "measured", "date": "2026-03-02 11:00 UTC", "machine": MACHINE,
            "settings": {"from": "1.0.0", "to": "1.1.0", "shipped_defaults": True, "drain_seconds": 2, "load_workers": 16, "repeats": 3},
            "runs": [_deploy_run(2, 24.0), _deploy_run(2, 22.0), _deploy_run(2, 23.0),
                     _deploy_run(3, 31.0), _deploy_run(3, 33.0), _deploy_run(3, 32.0),
                     _deploy_run(4, 47.0, failed=2), _deploy_run(4, 45.0), _deploy_run(4, 46.0),
                     _deploy_run(8, 55.0, batch="25%"), _deploy_run(8, 57.0, batch="25%"), _deploy_run(8, 56.0, batch="25%")]}


def _deploy_before_issue_24() -> dict:
    """A record of the earlier deploy benchmark: drain 20 s, one run per server count, no batch, no parts."""
    return {"status": "measured", "date": "2026-03-02 11:00 UTC", "machine": MACHINE,
            "settings": {"from": "1.0.0", "to": "1.1.0", "drain_seconds": 20, "load_workers": 16},
            "runs": [{"app_servers": 2, "seconds": 90.0, "returncode": 0, "load": _load(6200, retried=3)},
                     {"app_servers": 4, "seconds": 200.0, "returncode": 0, "load": _load(9000, failed=2)}]}


def _suite() -> dict:
    return {"status": "measured", "date": "2026-03-02 08:00 UTC", "machine": MACHINE, "settings": {}, "file": "/tmp/djangoops-lab-logs/suite-runs.tsv",
            "start": "2026-03-02T11:00:00Z", "end": "2026-03-02T11:46:45Z", "seconds": 2805, "exit_code": 0, "commit": "84ba3dc", "nproc": 2}


def _results() -> dict:
    return {"schema": 1, "command": "python benchmarks/bench.py", "benchmarks": {
        "playbook": _playbook(), "served": _served(), "deploy": _deploy(),
        "renewal": {"status": "measured", "date": "2026-03-02 11:30 UTC", "machine": MACHINE, "settings": {}, "seconds": 25.0,
                    "returncode": 0, "load": _load(1500)},
        "mitogen": {"status": "measured", "date": "2026-03-02 12:00 UTC", "machine": MACHINE, "settings": {"repeats": 2},
                    "mitogen_version": "0.3.51", "default": _runs(60.0, 62.0), "mitogen": _runs(30.0, 31.0),
                    "finding": "Mitogen supports ansible-core 2.19 since 0.3.25."},
        "suite": _suite(),
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
    found = {verdict.target: (verdict.measured, verdict.verdict) for verdict in verdicts}
    assert found["rolling deploy, 2 app servers, batches of one: wall time <= 25 s"] == ("23.0 s (median of 3)", "pass")
    # (46 - 23) / 2 = 11.5; 32 - 23 = 9
    assert found["each further app server, batches of one: (t(4) - t(2)) / 2 <= 10 s"] == ("11.5 s ((46.0 - 23.0) / 2)", "miss")
    assert found["each further app server, batches of one: t(3) - t(2) <= 10 s"] == ("9.0 s (32.0 - 23.0)", "pass")
    # 56 / 23 = 2.43
    assert found["8 app servers in 25% batches / 2 in batches of one <= 2.5"] == ("2.43 (56.0 s / 23.0 s)", "pass")
    load = {verdict.target: verdict for verdict in verdicts if "0 failed requests" in verdict.target}
    assert [target.rsplit("(", 1)[1] for target in load] == [
        "2 app servers, batches of one)", "3 app servers, batches of one)", "4 app servers, batches of one)", "8 app servers, batches of 25%)"]
    two = load["rolling deploy under load: 0 failed requests, >= 10 a second of each run (2 app servers, batches of one)"]
    assert (two.measured, two.verdict) == ("0 failed of 5,400 in 3 runs (0 retried on a closed keep-alive connection)", "pass")
    assert load["rolling deploy under load: 0 failed requests, >= 10 a second of each run (4 app servers, batches of one)"].verdict == "miss"


def test_the_deploys_are_grouped_by_configuration_with_the_median_runs_parts():
    rows = {(row["app_servers"], row["batch"]): row for row in report.deploy_rows(_deploy())}
    assert list(rows) == [(2, "1"), (3, "1"), (4, "1"), (8, "25%")]
    two = rows[(2, "1")]
    assert (two["seconds"], two["parts"], two["tasks_run"], two["cpu_seconds"]) == (23.0, {"drain": 6.0, "container": 4.0, "rest": 13.0}, 220, 18.4)
    assert report.median_run([{"seconds": 3.0}, {"seconds": 1.0}, {"seconds": 2.0}, {"seconds": 4.0}]) == {"seconds": 2.0}


@pytest.mark.parametrize(("seconds", "requests", "verdict"), [
    (24.0, 240, "pass"),  # 10 a second of 24 s
    (24.0, 239, "miss: 239 requests in a 24.0 s run, fewer than 240"),
    (24.2, 242, "pass"),
])
def test_too_few_requests_for_the_runs_length_are_not_a_pass(seconds, requests, verdict):
    record = _deploy()
    record["runs"][0] = _deploy_run(2, seconds, requests=requests)
    assert report.deploy_verdicts(record)[4].verdict == verdict


def test_a_failed_deploy_is_invalid():
    record = _deploy()
    record["runs"][3]["returncode"] = 2  # one of the runs with 3 app servers
    found = {verdict.target: verdict.verdict for verdict in report.deploy_verdicts(record)}
    assert found["each further app server, batches of one: t(3) - t(2) <= 10 s"] == "invalid: deploy.yml failed (rc 2 with 3 app servers)"
    assert found["rolling deploy, 2 app servers, batches of one: wall time <= 25 s"] == "pass"
    assert found["rolling deploy under load: 0 failed requests, >= 10 a second of each run (3 app servers, batches of one)"] == (
        "invalid: deploy.yml failed")


def test_deploy_times_with_another_drain_are_not_judged():
    record = _deploy()
    record["settings"].update(shipped_defaults=False, drain_seconds=20)
    verdicts = report.deploy_verdicts(record)
    assert {verdict.verdict for verdict in verdicts[:4]} == {"invalid: measured with django_app_drain_seconds=20, not the shipped defaults"}
    assert verdicts[4].verdict == "pass"  # the failed requests are judged whatever the drain


def test_a_missing_configuration_is_not_measured():
    record = _deploy()
    record["runs"] = [run for run in record["runs"] if run["app_servers"] != 8]
    found = {verdict.target: verdict.verdict for verdict in report.deploy_verdicts(record)}
    assert found["8 app servers in 25% batches / 2 in batches of one <= 2.5"] == "not measured: no run with 8 app servers, batches of 25%"


def test_an_earlier_deploy_record_is_still_read():
    verdicts = report.deploy_verdicts(_deploy_before_issue_24())
    found = {verdict.target: verdict.verdict for verdict in verdicts}
    assert found["rolling deploy, 2 app servers, batches of one: wall time <= 25 s"].startswith("invalid: measured with django_app_drain_seconds=20")
    assert found["each further app server, batches of one: t(3) - t(2) <= 10 s"] == "not measured: no run with 3 app servers, batches of one"
    # 6,200 requests in 90 s: more than 10 a second.
    assert found["rolling deploy under load: 0 failed requests, >= 10 a second of each run (2 app servers, batches of one)"] == "pass"
    assert found["rolling deploy under load: 0 failed requests, >= 10 a second of each run (4 app servers, batches of one)"] == "miss"


@pytest.mark.parametrize(("seconds", "exit_code", "verdict"), [
    (2805, 0, "pass"), (3000, 0, "pass"), (3001, 0, "miss"), (2805, 2, "invalid: make test failed (exit code 2)"),
])
def test_suite_verdict(seconds, exit_code, verdict):
    record = dict(_suite(), seconds=seconds, exit_code=exit_code)
    found = report.suite_verdicts(record)[0]
    assert (found.target, found.verdict) == ("make test <= 50 min on this machine with the lab images present", verdict)
    assert report.suite_verdicts({"status": "not measured: no file"})[0].verdict == "not measured: no file"


def test_suite_measured():
    assert report.suite_verdicts(_suite())[0].measured == "46 min 45 s (exit code 0, commit 84ba3dc, ended 2026-03-02T11:46:45Z)"


def _with_cpu(record: dict) -> dict:
    """The playbook record with the controller's CPU-seconds of every run: no-change 20, 22, 21 (2 app
    servers), 30 (8); pings 2.0, 2.2, 2.1."""
    record = copy.deepcopy(record)
    for run, cpu in zip(record["ping"], (2.0, 2.2, 2.1)):
        run["cpu_seconds"] = cpu
    for entry, cpus in zip(record["scale"], ((20.0, 22.0, 21.0), (25.0, 25.0, 25.0), (30.0, 30.0, 30.0))):
        for run, cpu in zip(entry["runs"], cpus):
            run["cpu_seconds"] = cpu
    record["first_converge"]["cpu_seconds"] = 150.0
    return record


def test_playbook_cpu_seconds_are_information_beside_the_wall_time_targets():
    verdicts = report.playbook_verdicts(_with_cpu(_playbook()))
    # 21 / 2.1 = 10.0; 30 / 21 = 1.43
    assert [(verdict.measured, verdict.verdict) for verdict in verdicts[2:]] == [
        ("10.00 (21.0 / 2.1 CPU-s)", "info"), ("1.43 (30.0 / 21.0 CPU-s)", "info")]
    assert verdicts[0].verdict == "pass"  # the wall-time target is unchanged


def test_playbook_runs_recorded_before_cpu_seconds():
    verdicts = report.playbook_verdicts(_playbook())
    assert verdicts[2].verdict == "not measured: runs recorded before the controller's CPU-seconds were"


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
    assert "| deploy | rolling deploy, 2 app servers, batches of one: wall time <= 25 s | 23.0 s (median of 3) | pass |" in text
    assert "| deploy | each further app server, batches of one: (t(4) - t(2)) / 2 <= 10 s | 11.5 s ((46.0 - 23.0) / 2) | **miss** |" in text
    assert "| suite | make test <= 50 min on this machine with the lab images present | 46 min 45 s" in text
    # Raw figures: each run, the slowest tasks, the failures.
    assert "| no-change site.yml | 8 | 68.0 | 70.0, 66.0, 68.0 | - | none |" in text
    assert "| gthread | 2 | 2 | 99.0 | app1 52.0, app2 50.0 |" in text
    # The machine's CPU busy %, proxy / direct; "-" for the runs recorded without it.
    assert "| Proxy / direct | Machine CPU busy %, proxy / direct |" in text
    assert "| gthread | 2 | 98.0 | 50.0 | 120.0 | 0 | 101.5 | 50.0 | 130.0 | 0 | 0.97 | 97 / 95 |" in text
    assert "| gthread | 4 | 165.0 | 50.0 | 120.0 | 0 | 200.0 | 50.0 | 120.0 | 0 | 0.82 | 99 / - |" in text
    assert "| sync | 1 | 31.0 | 50.0 | 120.0 | 0 | 40.0 | 50.0 | 120.0 | 0 | 0.78 | - |" in text
    assert "Machine CPU busy %, proxy / direct: the share of this machine's CPU time" in text
    assert "| djangoops.fleet.django_app : Pull the release image | 61.20 |" in text
    assert "1.000 198.51.100.10 HTTP 502" in text
    assert "| 2 | 1 (default) | 23.0 | 24.0, 22.0, 23.0 | 6.0 | 4.0 | 13.0 | rest (Ansible) | 220 | 18.4 | 5,400 | 0 | 0 | 1.0.0: 2,700, 1.1.0: 2,700 |" in text
    assert "| 8 | 25% | 56.0 | 55.0, 57.0, 56.0 | 6.0 | 4.0 | 46.0 | rest (Ansible) | 280 | 44.8 |" in text
    assert "| 8 app servers, batches of 25% | djangoops.fleet.nginx_proxy : Let the requests in flight finish | 2.30 |" in text
    assert "the shipped defaults (`django_app_drain_seconds` 2, the role's default)" in text
    assert "| 2026-03-02T11:00:00Z | 2026-03-02T11:46:45Z | 46 min 45 s (2,805 s) | 0 | 84ba3dc | 2 |" in text
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
