# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""benchmarks/bench.py without the lab: its options and bounds, the variables and environments it
gives Ansible, its command runner (on real, harmless commands), and --render-only end to end."""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import sys
import types

import pytest

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:
    sys.path.insert(0, str(CHECKOUT))

from test_ansible_output import END_OF_RUN  # pylint: disable=wrong-import-position
from test_report import FINDINGS, _results, _wrk  # pylint: disable=wrong-import-position

from benchmarks import bench  # pylint: disable=wrong-import-position
from benchmarks.lib import lab as lab_plan  # pylint: disable=wrong-import-position
from benchmarks.lib import machine, report, wrk  # pylint: disable=wrong-import-position


@pytest.fixture(name="lab")
def lab_fixture() -> lab_plan.Lab:
    return lab_plan.load_lab(CHECKOUT / "inventories" / "lab")


def test_defaults_run_everything_in_order():
    settings = bench.parse_args([])
    assert settings.only == ("playbook", "served", "deploy", "renewal", "mitogen", "suite")
    # The deploys drain as the role does by default, unless --drain-seconds says otherwise.
    assert (settings.repeats, settings.seconds, settings.connections, settings.drain_seconds) == (3, 20, 16, None)
    assert bench.parse_args(["--drain-seconds", "20"]).drain_seconds == 20
    assert settings.cpus == 0.15


def test_only_keeps_the_run_order():
    assert bench.parse_args(["--only", "mitogen", "served"]).only == ("served", "mitogen")
    assert bench.parse_args(["--only", "deploy", "--only", "renewal"]).only == ("deploy", "renewal")


def test_quick_shortens_what_was_not_given():
    settings = bench.parse_args(["--quick", "--repeats", "2"])
    # Not the drain: a shorter one would change what the deploy benchmark measures.
    assert (settings.quick, settings.repeats, settings.seconds, settings.drain_seconds) == (True, 2, 5, None)


@pytest.mark.parametrize("argv", [
    ["--seconds", "21"],  # wrk runs are bounded
    ["--connections", "65"],
    ["--connections", "3"],  # fewer than the 4 app servers of the direct runs
    ["--cpus", "0"],
    ["--only", "everything"],
])
def test_out_of_bounds_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize(("servers", "drained"), [(1, ["app2"]), (2, []), (4, [])])
def test_served_vars_drain_the_servers_not_measured(lab, servers, drained):
    variables = bench.served_vars(lab, servers, worker_class="gthread", cpus=0.25, workers=3, threads=4)
    assert variables == {
        "django_app_cpus": 0.25,
        "django_app_extra_env": {"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_WORKERS": "3", "GUNICORN_THREADS": "4"},
        "ufw_docker_extra_allowed_sources": ["198.51.100.40"],
        "django_app_published_address": "0.0.0.0",
        "nginx_proxy_upstream_drain": drained,
    }


def test_sync_workers_get_no_threads(lab):
    # Gunicorn would turn sync workers with threads into gthread ones.
    env = bench.served_vars(lab, 2, worker_class="sync", cpus=0.25, workers=3, threads=4)["django_app_extra_env"]
    assert env == {"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_WORKERS": "3"}


def test_the_worker_classes_are_the_example_apps():
    config = (CHECKOUT / "examples" / "polls" / "gunicorn.conf.py").read_text(encoding="utf-8")
    for name in ("GUNICORN_WORKER_CLASS", "GUNICORN_WORKERS", "GUNICORN_THREADS"):
        assert f'os.environ.get("{name}"' in config


def test_ansible_env(tmp_path):
    base = {"PATH": "/usr/bin", "ANSIBLE_STRATEGY": "free", "ANSIBLE_STRATEGY_PLUGINS": "/x", "HOME": "/root"}
    env = bench.ansible_env(base, control_dir=tmp_path, profile=True)
    assert env["ANSIBLE_CONFIG"] == str(CHECKOUT / "ansible.cfg")
    assert env["ANSIBLE_SSH_CONTROL_PATH_DIR"] == str(tmp_path)
    assert env["DJANGOOPS_LAB_DIR"] == str(CHECKOUT / ".lab")
    assert env["ANSIBLE_CALLBACKS_ENABLED"] == "ansible.posix.profile_tasks"
    assert env["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] == "all"  # the deploy breakdown needs every task's line
    assert (env["ANSIBLE_NOCOLOR"], env["ANSIBLE_FORCE_COLOR"]) == ("1", "0")
    # The default strategy unless asked: a strategy set in the caller's environment does not leak in.
    assert "ANSIBLE_STRATEGY" not in env
    assert "ANSIBLE_STRATEGY_PLUGINS" not in env
    assert env["HOME"] == "/root"
    assert base["ANSIBLE_STRATEGY"] == "free"


def test_ansible_env_keeps_the_lab_dir_and_takes_a_strategy(tmp_path):
    env = bench.ansible_env({"DJANGOOPS_LAB_DIR": "/srv/lab"}, control_dir=tmp_path,
                            extra={"ANSIBLE_STRATEGY": "mitogen_linear", "ANSIBLE_STRATEGY_PLUGINS": "/venv/ansible_mitogen/plugins/strategy"})
    assert env["DJANGOOPS_LAB_DIR"] == "/srv/lab"
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert "ANSIBLE_CALLBACKS_ENABLED" not in env


def test_run_record_from_a_recap():
    assert bench.run_record(61.234, 2, END_OF_RUN, cpu_seconds=23.5) == {
        "seconds": 61.23, "returncode": 2, "changed": ["app2"], "failed": ["proxy1", "proxy2"], "cpu_seconds": 23.5}
    assert bench.run_record(1.0, 0, "")["cpu_seconds"] is None


@pytest.mark.parametrize(("values", "index"), [([40.0, 44.0, 42.0], 2), ([5.0], 0), ([3.0, 1.0], 1), ([2.0, 2.0, 1.0, 9.0], 0)])
def test_median_index(values, index):
    assert bench.median_index(values) == index


def test_project_settings_read_from_the_repository():
    assert bench.config_forks(CHECKOUT / "ansible.cfg") == 10
    assert bench.role_default("site", "site_app_port") == 8000
    assert bench.role_default("django_app", "django_app_healthcheck_path") == "/polls/"


def test_config_forks_default(tmp_path):
    (tmp_path / "ansible.cfg").write_text("[defaults]\nretry_files_enabled = false\n", encoding="utf-8")
    assert bench.config_forks(tmp_path / "ansible.cfg") == 5


def test_served_by_headers():
    headers = "HTTP/2 200\r\nserver: nginx\r\nx-served-by: app1\r\n\r\nHTTP/2 200\r\nX-Served-By: app2\r\n\r\n"
    assert bench.parse_served_by(headers) == ["app1", "app2"]


def test_shell_logs_each_command(tmp_path):
    shell = bench.Shell(tmp_path / "logs")
    done = shell.run([sys.executable, "-c", "print('hello from a command')"], label="Say hello!", quiet=True)
    assert done.returncode == 0
    assert done.stdout == "hello from a command\n"
    assert done.log.name == "001-say-hello.log"
    assert "hello from a command" in done.log.read_text(encoding="utf-8")


BURN_CPU = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end:\n    pass\n"


def test_shell_measures_the_controllers_cpu_seconds(tmp_path):
    shell = bench.Shell(tmp_path)
    # 0.5 s of CPU in a grandchild (as Ansible's forks are), 0.5 s of sleep in a child.
    busy = shell.run(["sh", "-c", f"{sys.executable} -c {shlex.quote(BURN_CPU.format(seconds=0.5))}"], label="busy", quiet=True)
    idle = shell.run([sys.executable, "-c", "import time; time.sleep(0.5)"], label="idle", quiet=True)
    assert 0.5 <= busy.cpu_seconds < 0.5 + 0.3  # and Python's start-up
    assert idle.cpu_seconds < 0.3
    assert idle.seconds >= 0.5


def test_commands_side_by_side_have_no_cpu_figure(tmp_path):
    done = bench.Shell(tmp_path).run_parallel([([sys.executable, "-c", "pass"], "one")], timeout=30)
    assert done[0].cpu_seconds is None


def test_shell_raises_with_the_commands_end(tmp_path):
    shell = bench.Shell(tmp_path)
    with pytest.raises(bench.CommandError, match=r"(?s)failing step failed \(rc 3, log .*\):\nlast words"):
        shell.run([sys.executable, "-c", "import sys; print('last words'); sys.exit(3)"], label="failing step", quiet=True)


def test_a_missing_program_is_named(tmp_path):
    shell = bench.Shell(tmp_path)
    with pytest.raises(bench.BenchError, match="wrk on the machine: cannot run no-such-program-djangoops"):
        shell.run(["no-such-program-djangoops", "-v"], label="wrk on the machine", quiet=True)
    with pytest.raises(bench.BenchError, match="cannot run no-such-program-djangoops"):
        shell.run_parallel([([sys.executable, "-c", "pass"], "fine"), (["no-such-program-djangoops"], "missing")], timeout=30)


def test_parallel_commands_all_finish_before_a_failure_is_raised(tmp_path):
    shell = bench.Shell(tmp_path)
    marker = tmp_path / "slow-finished"
    slow = f"import pathlib, time; time.sleep(0.5); pathlib.Path({str(marker)!r}).write_text('done')"
    with pytest.raises(bench.CommandError, match="fails"):
        shell.run_parallel([([sys.executable, "-c", "import sys; sys.exit(1)"], "fails"), ([sys.executable, "-c", slow], "slow")],
                           timeout=30)
    assert marker.read_text() == "done"
    done = shell.run_parallel([([sys.executable, "-c", "print(1)"], "one"), ([sys.executable, "-c", "print(2)"], "two")], timeout=30)
    assert [item.stdout for item in done] == ["1\n", "2\n"]


def test_a_new_run_clears_the_last_runs_logs(tmp_path):
    (tmp_path / "007-old.log").write_text("old", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    bench.Shell(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


class FakeClient:
    """The lab client's wrk runs, answered from figures: what served_repeat is given."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def wrk_proxy(self, settings, *, seconds, label):
        self.calls.append(f"wrk_proxy {seconds} s")
        return wrk.WrkResult.from_dict(_wrk(98.0))

    def wrk_direct(self, settings, servers, *, seconds, label):
        self.calls.append(f"wrk_direct {seconds} s, {len(servers)} servers")
        return [wrk.WrkResult.from_dict(_wrk(rps)) for rps in (50.0, 51.5)]


def _served_ctx(lab: lab_plan.Lab, calls: list[str]) -> types.SimpleNamespace:
    shell = types.SimpleNamespace(say=lambda message: calls.append(f"say {message}"))
    return types.SimpleNamespace(settings=bench.parse_args(["--quick"]), client=FakeClient(calls), shell=shell, lab=lab)


def test_served_repeat_samples_the_machines_cpu_during_each_side(lab, monkeypatch):
    calls: list[str] = []
    # /proc/stat before and after the proxy run, then before and after the direct run.
    samples = iter([machine.CpuTimes(busy=1000, total=2000), machine.CpuTimes(busy=1970, total=3000),
                    machine.CpuTimes(busy=2000, total=3100), machine.CpuTimes(busy=2950, total=4100)])

    def cpu_times():
        calls.append("cpu_times")
        return next(samples)

    monkeypatch.setattr(machine, "cpu_times", cpu_times)
    repeat = bench.served_repeat(_served_ctx(lab, calls), "gthread, 2 app servers", lab.app_servers[:2])
    # 970 of 1,000 jiffies busy through the proxy, 950 of 1,000 direct.
    assert repeat["cpu_busy_percent"] == {"proxy": 97.0, "direct": 95.0}
    assert calls[:6] == ["cpu_times", "wrk_proxy 5 s", "cpu_times", "cpu_times", "wrk_direct 5 s, 2 servers", "cpu_times"]
    assert calls[6] == ("say gthread, 2 app servers: proxy 98.0 req/s (p99 120 ms, 0 errors, machine 97% busy),"
                        " direct 101.5 req/s (p99 120 ms, 0 errors, machine 95% busy)")
    assert [entry["server"] for entry in repeat["direct"]] == ["app1", "app2"]
    # What the report makes of it: the medians of a run of such repeats, in the served table.
    row = report.served_rows({"runs": [{"worker_class": "gthread", "app_servers": 2, "repeats": [repeat]}]})[0]
    assert report.cpu_busy_cell(row) == "97 / 95"
    assert json.loads(json.dumps(repeat)) == repeat


def test_served_repeat_without_proc_stat(lab, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(machine, "cpu_times", lambda: None)
    repeat = bench.served_repeat(_served_ctx(lab, calls), "sync, 2 app servers", lab.app_servers[:2])
    assert repeat["cpu_busy_percent"] == {"proxy": None, "direct": None}
    assert "0 errors, machine busy unknown), direct" in calls[-1]
    assert calls[-1].endswith("0 errors, machine busy unknown)")


@pytest.mark.parametrize(("percent", "note"), [(96.66, "machine 97% busy"), (0.0, "machine 0% busy"), (None, "machine busy unknown")])
def test_busy_note(percent, note):
    assert bench.busy_note(percent) == note


def test_render_only(tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps(_results()), encoding="utf-8")
    assert bench.main(["--render-only", "--results-dir", str(tmp_path)]) == 0
    text = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "| served | proxy / direct >= 0.90 (gthread, 2 app servers) | 0.97 (98.0 / 101.5 req/s) | pass |" in text
    assert "wrote" in capsys.readouterr().out
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8")) == _results()


def test_render_only_with_findings(tmp_path, capsys):
    # The hand-written FINDINGS.md beside results.json becomes RESULTS.md's "Findings" section; bench.py leaves it as it is.
    (tmp_path / "results.json").write_text(json.dumps(_results()), encoding="utf-8")
    (tmp_path / "FINDINGS.md").write_text(FINDINGS, encoding="utf-8")
    assert bench.main(["--render-only", "--results-dir", str(tmp_path)]) == 0
    text = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert text.index("## Targets") < text.index("## Findings") < text.index("## The playbook")
    assert "Written by hand in [FINDINGS.md](FINDINGS.md), beside this file.\n\nA finding, written by hand after reading the tables below." in text
    assert (tmp_path / "FINDINGS.md").read_text(encoding="utf-8") == FINDINGS
    assert "RESULTS.md (with the findings of FINDINGS.md), results.json" in capsys.readouterr().out


def test_render_only_without_findings(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(_results()), encoding="utf-8")
    assert bench.main(["--render-only", "--results-dir", str(tmp_path)]) == 0
    assert "## Findings" not in (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert not (tmp_path / "FINDINGS.md").exists()
    assert bench.load_findings(tmp_path) is None


def test_render_only_without_results(tmp_path, capsys):
    assert bench.main(["--render-only", "--results-dir", str(tmp_path)]) == 1
    assert "run the benchmarks first" in capsys.readouterr().err


def test_the_wrk_script_and_load_generator_exist():
    assert (CHECKOUT / "benchmarks" / "files" / "resolve.lua").is_file()
    assert (CHECKOUT / "tests" / "lab" / "files" / "load.py").is_file()
    assert os.path.basename(bench.CLIENT_WRK_SCRIPT) == "djangoops-bench-resolve.lua"


def test_deploys_keep_the_shipped_defaults_unless_told():
    assert bench.deploy_vars("1.1.0", batch=None, drain_seconds=None) == {"lab_app_version": "1.1.0"}
    assert bench.deploy_vars("1.1.0", batch="25%", drain_seconds=20) == {
        "lab_app_version": "1.1.0", "django_app_rolling_batch": "25%", "django_app_drain_seconds": 20}


def test_deploy_configurations():
    assert bench.deploy_configurations() == [(2, None), (3, None), (4, None), (8, "25%")]


def test_deploy_settings_name_the_drain_that_applied(lab):
    shipped = bench.deploy_settings(bench.parse_args([]), lab)
    assert (shipped["shipped_defaults"], shipped["drain_seconds"], shipped["from"], shipped["to"]) == (True, 2, "1.0.0", "1.1.0")
    assert shipped["drain_seconds"] == bench.role_default("django_app", "django_app_drain_seconds")
    given = bench.deploy_settings(bench.parse_args(["--drain-seconds", "20", "--quick"]), lab)
    assert (given["shipped_defaults"], given["drain_seconds"], given["repeats"]) == (False, 20, 1)
    assert "one run of each configuration" in given["quick_note"]


def test_suite_reads_the_newest_run_and_starts_no_lab(tmp_path, monkeypatch):
    runs = tmp_path / "suite-runs.tsv"
    runs.write_text("start\tend\tseconds\texit_code\tcommit\tnproc\n2026-12-06T13:02:11Z\t2026-12-06T13:49:03Z\t2812\t0\t84ba3dc\t2\n",
                    encoding="utf-8")

    def no_lab(*_args, **_kwargs):
        raise AssertionError("the suite benchmark must not touch the lab")

    monkeypatch.setattr(bench.LabDriver, "ensure_lab", no_lab)
    monkeypatch.setattr(bench.LabDriver, "restore", no_lab)
    monkeypatch.setattr(machine, "collect", lambda env: {"nproc": 2})
    argv = ["--only", "suite", "--suite-runs", str(runs), "--results-dir", str(tmp_path), "--log-dir", str(tmp_path / "logs")]
    assert bench.main(argv) == 0
    record = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["benchmarks"]["suite"]
    assert (record["status"], record["seconds"], record["exit_code"], record["commit"]) == ("measured", 2812, 0, "84ba3dc")
    assert "| suite | make test <= 50 min on this machine with the lab images present | 46 min 52 s" in (tmp_path / "RESULTS.md").read_text(
        encoding="utf-8")


def test_suite_without_a_recorded_run(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "collect", lambda env: {})
    argv = ["--only", "suite", "--suite-runs", str(tmp_path / "none.tsv"), "--results-dir", str(tmp_path), "--log-dir", str(tmp_path / "logs")]
    assert bench.main(argv) == 0
    record = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["benchmarks"]["suite"]
    assert record["status"].startswith(f"not measured: {tmp_path / 'none.tsv'} does not exist")


def test_render_only_with_the_records_before_issue_24(tmp_path):
    # The project's own results.json (deploys with a 20 s drain, no CPU-seconds, no suite) still renders.
    (tmp_path / "results.json").write_text((CHECKOUT / "benchmarks" / "results.json").read_text(encoding="utf-8"), encoding="utf-8")
    assert bench.main(["--render-only", "--results-dir", str(tmp_path)]) == 0
    text = (tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    assert "| deploy | rolling deploy, 2 app servers, batches of one: wall time <= 25 s |" in text
    assert "## The test suite" in text
