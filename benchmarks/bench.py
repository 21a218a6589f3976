# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmarks of issue 9 ("Speed and scale, measured") on the local lab.

    python benchmarks/bench.py                  # everything, from a fresh lab (what `make bench` runs)
    python benchmarks/bench.py --only served    # one benchmark on the running lab
    python benchmarks/bench.py --quick          # shorter and fewer runs, to try the harness
    python benchmarks/bench.py --render-only    # rewrite RESULTS.md and the plots from results.json

Benchmarks, in this order (README.md beside this file says what each measures and why):
  playbook  fresh lab; first converge and no-change runs of site.yml against `ansible all -m ping`,
            no-change runs with 2, 4 and 8 app servers, slowest tasks from profile_tasks
  served    wrk through the proxy against wrk straight at every app server, 1/2/4 app servers capped
            at 0.15 CPU each, Gunicorn sync and gthread workers, this machine's CPU busy % in each run
  deploy    rolling deploy of the next lab release under keep-alive load with the shipped defaults: 2, 3 and 4 app
            servers in batches of one, 8 in 25% batches; wall time in drain, container start + health, rest
  renewal   renew.yml -e certbot_force=true (nginx HUP) under keep-alive load
  mitogen   no-change site.yml with the mitogen_linear strategy against the default
  suite     the newest finished `make test` run, as scripts/test.sh recorded it (no lab)

Each benchmark starts by converging the lab to what it measures and ends by converging it back to
the inventory's settings (2 app servers, extra ones removed). Results are merged into
results.json after every benchmark (a benchmark not run keeps its earlier record) and rendered to
RESULTS.md and plots/*.png, with the hand-written FINDINGS.md beside them, if any, as its
"Findings" section. Every command's output is in the log directory (default
/tmp/djangoops-bench-logs). Load goes only to the lab's own addresses, bounded in time.

Python 3.11, standard library and PyYAML (matplotlib for the plots, when installed).
"""

from __future__ import annotations

import argparse
import configparser
import dataclasses
import datetime
import json
import os
import pathlib
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import typing as t

import yaml

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.lib import ansible_output, deploy_time, machine, plots, report, suite, wrk  # pylint: disable=wrong-import-position
from benchmarks.lib import lab as lab_plan  # pylint: disable=wrong-import-position

BENCHMARKS = report.ORDER
LAB_INVENTORY = "inventories/lab"
CLIENT_CA = "/lab/pki/pebble-production-root.pem"
CLIENT_WRK_SCRIPT = "/tmp/djangoops-bench-resolve.lua"
CLIENT_LOAD = "/tmp/djangoops-bench-load"  # .py, .stop, .json, .log
WORKER_CLASSES = ("sync", "gthread")
SERVED_APP_SERVERS = (1, 2, 4)
PLAYBOOK_APP_SERVERS = (2, 4, 8)
DEPLOY_APP_SERVERS = (2, 3, 4)  # each in batches of one, django_app_rolling_batch's default
DEPLOY_BATCH_APP_SERVERS, DEPLOY_PERCENT_BATCH = report.DEPLOY_BATCHES  # 8 app servers, -e django_app_rolling_batch=25%
LAB_FREE = ("suite",)  # benchmarks that neither need nor touch the lab
SUITE_RUNS = pathlib.Path(os.environ.get("LAB_LOG_DIR") or "/tmp/djangoops-lab-logs") / "suite-runs.tsv"
MAX_WRK_SECONDS = 20
MAX_CONNECTIONS = 64
MITOGEN_FINDING = (
    "Mitogen supports ansible-core 2.19 (Ansible 12) since 0.3.25 (2025-07-29): mitogen-hq/mitogen docs/changelog.rst,"
    " issue #1258. Ansible 12 deprecates strategy plugins from outside ansible.builtin, so mitogen_linear runs print a"
    " deprecation warning (mitogen issue #1278 tracks the alternative)."
)


class BenchError(RuntimeError):
    """A benchmark cannot go on; the message says what was found and what to do."""


# --- Settings -------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Settings:
    """The command line, with --quick's shorter defaults applied."""

    only: tuple[str, ...]
    quick: bool
    repeats: int
    seconds: int
    connections: int
    threads: int
    timeout_seconds: int
    cpus: float
    gunicorn_workers: int
    gthread_threads: int
    drain_seconds: int | None  # None: the role's default (the shipped one)
    load_workers: int
    load_interval: float
    fresh_lab: bool
    render_only: bool
    results_dir: pathlib.Path
    log_dir: pathlib.Path
    suite_runs: pathlib.Path = SUITE_RUNS


def _bounded(low: int, high: int) -> t.Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def parse_args(argv: t.Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--only", nargs="+", action="extend", choices=BENCHMARKS, metavar="NAME",
                        help=f"run only these benchmarks ({', '.join(BENCHMARKS)})")
    parser.add_argument("--quick", action="store_true", help="5 s wrk runs, one repeat: indicative only")
    parser.add_argument("--repeats", type=_bounded(1, 10), help="runs of each measurement, median kept (default 3; quick 1)")
    parser.add_argument("--seconds", type=_bounded(1, MAX_WRK_SECONDS), help=f"duration of each wrk run (default {MAX_WRK_SECONDS}; quick 5)")
    parser.add_argument("--connections", type=_bounded(max(SERVED_APP_SERVERS), MAX_CONNECTIONS), default=16,
                        help="wrk connections in all, shared out among the app servers in direct runs (default 16)")
    parser.add_argument("--threads", type=_bounded(1, 8), default=2, help="wrk threads (default 2)")
    parser.add_argument("--timeout-seconds", type=_bounded(1, 30), default=10, help="wrk request timeout (default 10)")
    # 0.15: four capped app servers, the proxy, TLS and the load generator fit in 2 cores (at 0.25 they
    # need about 115 % of them, benchmarks/FINDINGS.md).
    parser.add_argument("--cpus", type=float, default=0.15,
                        help="CPU cap of each app container in the served benchmark (default 0.15)")
    parser.add_argument("--gunicorn-workers", type=_bounded(1, 16), default=3, help="Gunicorn workers per app server (default 3)")
    parser.add_argument("--gthread-threads", type=_bounded(2, 32), default=4, help="threads per gthread worker (default 4)")
    parser.add_argument("--drain-seconds", type=_bounded(0, 60),
                        help="django_app_drain_seconds of the deploys (default: the role's, the shipped default; given, the wall-time targets are not judged)")
    parser.add_argument("--load-interval", type=float, default=1.0,
                        help="seconds each load client pauses between requests during the deploys (default 1: about 15 req/s,"
                             " a site at work, as the lab checks' steady load; 0: as fast as it answers, which takes the CPUs"
                             " the deploy runs on)")
    parser.add_argument("--load-workers", type=_bounded(1, 32), default=16, help="keep-alive clients of load.py (default 16)")
    parser.add_argument("--fresh-lab", action="store_true", help="recreate the lab first even when playbook is not run")
    parser.add_argument("--render-only", action="store_true", help="only rewrite RESULTS.md and the plots from results.json")
    parser.add_argument("--results-dir", type=pathlib.Path, default=REPO / "benchmarks", help="where results.json, RESULTS.md and plots/ go")
    parser.add_argument("--log-dir", type=pathlib.Path, default=pathlib.Path("/tmp/djangoops-bench-logs"))
    parser.add_argument("--suite-runs", type=pathlib.Path, default=SUITE_RUNS,
                        help=f"the runs of make test as scripts/test.sh records them (default {SUITE_RUNS})")
    args = parser.parse_args(argv)
    if not 0 <= args.load_interval <= 10:
        parser.error(f"--load-interval {args.load_interval} is not in [0, 10]")
    if not 0 < args.cpus <= 4:
        parser.error(f"--cpus {args.cpus} is not in (0, 4]")
    quick = args.quick
    return Settings(
        only=tuple(name for name in BENCHMARKS if name in (args.only or BENCHMARKS)),
        quick=quick,
        repeats=args.repeats or (1 if quick else 3),
        seconds=args.seconds or (5 if quick else MAX_WRK_SECONDS),
        connections=args.connections,
        threads=args.threads,
        timeout_seconds=args.timeout_seconds,
        cpus=args.cpus,
        gunicorn_workers=args.gunicorn_workers,
        gthread_threads=args.gthread_threads,
        drain_seconds=args.drain_seconds,
        load_workers=args.load_workers,
        load_interval=args.load_interval,
        fresh_lab=args.fresh_lab,
        render_only=args.render_only,
        results_dir=args.results_dir,
        log_dir=args.log_dir,
        suite_runs=args.suite_runs,
    )


# --- Pure helpers ---------------------------------------------------------------------------------

def ansible_env(base: t.Mapping[str, str], *, control_dir: pathlib.Path, profile: bool = False,
                extra: t.Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an Ansible command: the project's ansible.cfg, the lab's state directory,
    no colours (the output is parsed), SSH control sockets in ``control_dir`` (a fresh one makes
    the run open its connections anew), the default strategy unless ``extra`` sets one."""
    env = {key: value for key, value in base.items() if key not in ("ANSIBLE_STRATEGY", "ANSIBLE_STRATEGY_PLUGINS")}
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_SSH_CONTROL_PATH_DIR=str(control_dir),
        # Hosts of a generated inventory would otherwise find the lab's state relative to it.
        DJANGOOPS_LAB_DIR=base.get("DJANGOOPS_LAB_DIR") or str(REPO / ".lab"),
    )
    venv_bin = REPO / ".venv" / "bin"
    if venv_bin.is_dir() and not env.get("PATH", "").startswith(str(venv_bin)):
        env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    if profile:
        env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
        # Every task, not the 20 slowest: a deploy's time is broken down from all of them (lib/deploy_time.py).
        env["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] = "all"
    env.update(extra or {})
    return env


def served_vars(lab: lab_plan.Lab, servers: int, *, worker_class: str, cpus: float, workers: int, threads: int) -> dict[str, t.Any]:
    """Extra variables of site.yml for one served-site configuration: the CPU cap, Gunicorn's
    worker class (examples/polls/gunicorn.conf.py reads GUNICORN_*), the lab client let through the
    app servers' firewall for the direct runs, and the inventory's app servers beyond ``servers``
    drained from the proxies (one app server = app1 with app2 drained)."""
    if worker_class not in WORKER_CLASSES:
        raise ValueError(f"unknown Gunicorn worker class {worker_class!r}")
    env = {"GUNICORN_WORKER_CLASS": worker_class, "GUNICORN_WORKERS": str(workers)}
    if worker_class == "gthread":
        # Never with sync: Gunicorn turns sync workers with threads > 1 into gthread ones.
        env["GUNICORN_THREADS"] = str(threads)
    return {
        "django_app_cpus": cpus,
        "django_app_extra_env": env,
        "ufw_docker_extra_allowed_sources": [lab.client_address],
        # The client is on the public network; the app port is published on the private address by default.
        "django_app_published_address": "0.0.0.0",
        "nginx_proxy_upstream_drain": [server.name for server in lab.app_servers[servers:]],
    }


def deploy_vars(version: str, *, batch: str | None, drain_seconds: int | None) -> dict[str, t.Any]:
    """Extra variables of one deploy: the release, and only what the run asks to differ from the
    shipped defaults (a percentage batch; a drain time given with --drain-seconds)."""
    variables: dict[str, t.Any] = {"lab_app_version": version}
    if batch is not None:
        # With -e: release.yml templates `serial` before any inventory variable is read.
        variables["django_app_rolling_batch"] = batch
    if drain_seconds is not None:
        variables["django_app_drain_seconds"] = drain_seconds
    return variables


def deploy_configurations() -> list[tuple[int, str | None]]:
    """(app servers, batch) of each measured deploy; None is the default batch of one."""
    return [(servers, None) for servers in DEPLOY_APP_SERVERS] + [(DEPLOY_BATCH_APP_SERVERS, DEPLOY_PERCENT_BATCH)]


def run_record(seconds: float, returncode: int, output: str, *, cpu_seconds: float | None = None) -> dict[str, t.Any]:
    """A timed playbook run as results.json keeps it, with the controller's CPU-seconds it cost."""
    recap = ansible_output.parse_recap(output)
    return {"seconds": round(seconds, 2), "returncode": returncode, "changed": ansible_output.changed_hosts(recap),
            "failed": ansible_output.failed_hosts(recap), "cpu_seconds": cpu_seconds}


median_index = report.median_index  # the median run's rule, one for the runs and the report


def config_forks(path: pathlib.Path) -> int:
    """``forks`` in an ansible.cfg (Ansible's default 5 when unset)."""
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    parser.read(path, encoding="utf-8")
    return parser.getint("defaults", "forks", fallback=5)


def role_default(role: str, name: str) -> t.Any:
    """A default of one of the collection's roles (the site's app port, the health check path)."""
    with (REPO / "roles" / role / "defaults" / "main.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)[name]


def parse_served_by(headers: str) -> list[str]:
    """X-Served-By values in curl's ``-D -`` output, in order."""
    return re.findall(r"(?im)^x-served-by:\s*(\S+)", headers)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- Commands -------------------------------------------------------------------------------------

def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's children that were waited for, and of theirs
    (getrusage RUSAGE_CHILDREN): Ansible, its forks, the ssh clients they ran. Not counted: what runs
    in containers (docker exec), and SSH masters that ControlPersist keeps in the background."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclasses.dataclass
class Done:
    """A finished command: its output, how long it took, where its log is, and the controller's
    CPU-seconds it cost (None where commands ran side by side: they cannot be told apart)."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    log: pathlib.Path
    cpu_seconds: float | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class CommandError(BenchError):
    """A command failed; the message names it and shows the end of its output."""

    def __init__(self, done: Done, what: str) -> None:
        super().__init__(f"{what} failed (rc {done.returncode}, log {done.log}):\n{ansible_output.last_lines(done.output)}")
        self.done = done


class Shell:
    """Runs commands, logs each one's output to its own file, prints progress."""

    def __init__(self, log_dir: pathlib.Path) -> None:
        self.log_dir = log_dir
        self.started = time.monotonic()
        self.count = 0
        log_dir.mkdir(parents=True, exist_ok=True)
        for old in log_dir.glob("[0-9][0-9][0-9]-*.log"):  # the last run's logs
            old.unlink()

    def say(self, message: str) -> None:
        elapsed = int(time.monotonic() - self.started)
        print(f"[bench {elapsed // 3600:d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}] {message}", flush=True)

    def _log_path(self, label: str) -> pathlib.Path:
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:60]
        return self.log_dir / f"{self.count:03d}-{slug}.log"

    def _write_log(self, path: pathlib.Path, argv: list[str], done: subprocess.CompletedProcess, seconds: float) -> None:
        path.write_text(f"$ {shlex.join(argv)}\n# rc {done.returncode}, {seconds:.1f} s\n\n{done.stdout or ''}{done.stderr or ''}",
                        encoding="utf-8")

    def run(self, argv: list[str], *, label: str, env: t.Mapping[str, str] | None = None, timeout: float = 600,
            check: bool = True, quiet: bool = False) -> Done:
        log = self._log_path(label)
        if not quiet:
            self.say(f"{label} ...")
        started, cpu_before = time.monotonic(), children_cpu_seconds()
        try:
            completed = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as error:
            raise BenchError(f"{label}: no answer within {timeout:.0f} s ({shlex.join(argv)})") from error
        except OSError as error:
            raise BenchError(f"{label}: cannot run {argv[0]}: {error}") from error
        seconds = time.monotonic() - started
        # One command at a time here: the growth of the children's CPU time is this command's.
        cpu_seconds = round(children_cpu_seconds() - cpu_before, 2)
        self._write_log(log, argv, completed, seconds)
        done = Done(argv, completed.returncode, completed.stdout, completed.stderr, seconds, log, cpu_seconds)
        if not quiet:
            self.say(f"{label}: {'done' if done.returncode == 0 else f'rc {done.returncode}'} in {seconds:.1f} s"
                     f" ({cpu_seconds:.1f} CPU-s here)")
        if check and done.returncode != 0:
            raise CommandError(done, label)
        return done

    def _finish(self, argv: list[str], label: str, process: subprocess.Popen, *, started: float, deadline: float) -> Done:
        log = self._log_path(label)
        try:
            stdout, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired as error:
            raise BenchError(f"{label}: no answer within {deadline - started:.0f} s") from error
        seconds = time.monotonic() - started
        self._write_log(log, argv, subprocess.CompletedProcess(argv, process.returncode, stdout, stderr), seconds)
        return Done(argv, process.returncode, stdout, stderr, seconds, log)

    def run_parallel(self, commands: list[tuple[list[str], str]], *, timeout: float) -> list[Done]:
        """Start every command at once, wait for all (the direct wrk runs, one per app server)."""
        started = time.monotonic()
        running: list[tuple[list[str], str, subprocess.Popen]] = []
        try:
            for argv, label in commands:
                # pylint: disable-next=consider-using-with  # waited for below, all of them: a with block would run them in turn
                process = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                running.append((argv, label, process))
            results = [(label, self._finish(argv, label, process, started=started, deadline=started + timeout))
                       for argv, label, process in running]
        except OSError as error:
            program = commands[len(running)][0][0] if len(running) < len(commands) else "a command"
            raise BenchError(f"cannot run {program}: {error}") from error
        finally:
            for *_rest, process in running:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        # Only once every run has ended: a failed one must not leave the others running.
        for label, done in results:
            if done.returncode != 0:
                raise CommandError(done, label)
        return [done for _label, done in results]


# --- The lab --------------------------------------------------------------------------------------

class LabDriver:
    """What the benchmarks do to the lab through Ansible and Docker: create, converge, scale, restore."""

    def __init__(self, shell: Shell, lab: lab_plan.Lab, work_dir: pathlib.Path) -> None:
        self.shell = shell
        self.lab = lab
        self.work_dir = work_dir
        self.base_servers = len(lab.app_servers)
        self._controls = 0

    def env(self, *, profile: bool = False, extra: t.Mapping[str, str] | None = None) -> dict[str, str]:
        """An Ansible environment with a control socket directory of its own (fresh SSH connections)."""
        self._controls += 1
        control_dir = self.work_dir / f"cp{self._controls}"
        control_dir.mkdir(mode=0o700)
        return ansible_env(os.environ, control_dir=control_dir, profile=profile, extra=extra)

    def inventory_args(self, servers: int) -> list[str]:
        extra = lab_plan.write_extra_inventory(self.lab, servers, self.work_dir)
        return ["-i", LAB_INVENTORY] + (["-i", str(extra)] if extra else [])

    def playbook(self, playbook: str, servers: int, *, label: str, extra_vars: t.Mapping[str, t.Any] | None = None,
                 profile: bool = False, env_extra: t.Mapping[str, str] | None = None, check: bool = True,
                 timeout: float = 3600) -> Done:
        argv = ["ansible-playbook", *self.inventory_args(servers), playbook]
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars, sort_keys=True)]
        return self.shell.run(argv, label=label, env=self.env(profile=profile, extra=env_extra), check=check, timeout=timeout)

    def converge(self, servers: int, extra_vars: t.Mapping[str, t.Any] | None = None, *, label: str) -> Done:
        return self.playbook("playbooks/site.yml", servers, label=label, extra_vars=extra_vars)

    def ping(self, servers: int, *, label: str) -> Done:
        argv = ["ansible", "all", *self.inventory_args(servers), "-m", "ansible.builtin.ping"]
        return self.shell.run(argv, label=label, env=self.env(), timeout=600)

    def running(self, name: str) -> bool:
        done = self.shell.run(["docker", "inspect", "--format", "{{.State.Running}}", self.lab.container(name)],
                              label=f"is {name} running", check=False, quiet=True, timeout=60)
        return done.returncode == 0 and done.stdout.strip() == "true"

    def lab_up(self) -> None:
        make = os.environ.get("MAKE", "make")
        self.shell.run([make, "-C", str(REPO), "lab-up"], label="make lab-up (a fresh lab)", timeout=7200, env=self.env())

    def ensure_lab(self, *, fresh: bool) -> None:
        if fresh or not self.running("client"):
            self.lab_up()

    def ensure_servers(self, servers: int) -> None:
        """Create the app server containers beyond the inventory's (tests/lab/up.yml with the extra inventory)."""
        extra = lab_plan.extra_app_servers(self.lab, servers)
        if all(self.running(server.name) for server in extra):
            return
        self.playbook("tests/lab/up.yml", servers, label=f"create app servers up to {servers} (tests/lab/up.yml)")

    def remove_extra_servers(self) -> None:
        """Remove the containers and Docker volumes of app servers beyond the inventory's (after a
        converge without them, so no proxy sends them requests)."""
        most = max(PLAYBOOK_APP_SERVERS + SERVED_APP_SERVERS + DEPLOY_APP_SERVERS + (DEPLOY_BATCH_APP_SERVERS,))
        for server in lab_plan.extra_app_servers(self.lab, most):
            container = self.lab.container(server.name)
            removed = self.shell.run(["docker", "rm", "--force", "--volumes", container], label=f"remove {container}",
                                     check=False, quiet=True, timeout=120)
            if removed.returncode == 0:
                self.shell.say(f"removed {container}")
            self.shell.run(["docker", "volume", "rm", "--force", f"{container}-docker"], label=f"remove {container}'s volume",
                           check=False, quiet=True, timeout=120)

    def restore(self) -> None:
        """Back to the inventory's app servers and settings."""
        self.converge(self.base_servers, label="converge back to the inventory's settings")
        self.remove_extra_servers()

    def ansible_python(self) -> str:
        playbook = shutil.which("ansible-playbook", path=self.env()["PATH"])
        beside = pathlib.Path(playbook).with_name("python") if playbook else None
        return str(beside) if beside and beside.exists() else sys.executable

    def mitogen(self) -> tuple[str, str] | None:
        """(strategy plugin directory, version) of the mitogen installed beside Ansible, if any."""
        code = ("import importlib.metadata, os, ansible_mitogen; print(os.path.join(os.path.dirname(ansible_mitogen.__file__),"
                " 'plugins', 'strategy')); print(importlib.metadata.version('mitogen'))")
        done = self.shell.run([self.ansible_python(), "-c", code], label="find mitogen", check=False, quiet=True, timeout=60)
        lines = done.stdout.splitlines()
        return (lines[0], lines[1]) if done.returncode == 0 and len(lines) == 2 else None


class LabClient:
    """The lab's outside client container: wrk, curl and load.py run in it (``docker exec``), and
    only at the lab's own addresses."""

    def __init__(self, shell: Shell, lab: lab_plan.Lab) -> None:
        self.shell = shell
        self.lab = lab
        self.port = int(role_default("site", "site_app_port"))
        self.path = str(role_default("django_app", "django_app_healthcheck_path"))
        self.load_running = False

    def run(self, *command: str, label: str, env: t.Mapping[str, str] | None = None, check: bool = True,
            timeout: float = 120) -> Done:
        options = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
        return self.shell.run(["docker", "exec", *options, self.lab.client_container, *command], label=label, check=check,
                              timeout=timeout, quiet=True)

    def copy(self, source: pathlib.Path, destination: str) -> None:
        self.shell.run(["docker", "cp", str(source), f"{self.lab.client_container}:{destination}"],
                       label=f"copy {source.name} to the lab client", quiet=True, timeout=60)

    def guard(self, address: str) -> str:
        if not self.lab.is_lab_address(address):
            raise BenchError(f"{address} is not a lab address: load goes only to the lab's own networks")
        return address

    @property
    def proxy(self) -> str:
        """The proxy the served-site runs go through (proxy1's public address)."""
        return self.guard(self.lab.proxies[0].public)

    def wrk_version(self) -> str:
        done = self.run("wrk", "-v", label="wrk -v on the lab client", check=False)
        version = wrk.parse_version(done.output)
        if version is None:
            raise BenchError(
                f"the lab client ({self.lab.client_container}) has no wrk ({done.output.strip()[:200]!r}): add Debian's wrk"
                " package to the client image (tests/lab/images/client/Dockerfile) and recreate the lab (make lab-up)"
            )
        return version

    def served_by(self, count: int) -> list[str]:
        """X-Served-By of ``count`` requests through the proxy, each on a new connection."""
        curl = shlex.join(["curl", "-sS", "-o", "/dev/null", "-D", "-", "--max-time", "10", "--cacert", CLIENT_CA,
                           "--resolve", f"{self.lab.domain}:443:{self.proxy}", f"https://{self.lab.domain}{self.path}"])
        done = self.run("sh", "-c", f"for i in $(seq 1 {count}); do {curl}; done", label="requests through the proxy")
        return parse_served_by(done.stdout)

    def direct_status(self, server: lab_plan.Server) -> str:
        done = self.run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "-H", f"Host: {self.lab.domain}",
                        f"http://{self.guard(server.public)}:{self.port}{self.path}", label=f"request to {server.name} directly",
                        check=False)
        return done.stdout.strip() or "no answer"

    def check_served(self, servers: list[lab_plan.Server]) -> None:
        """Through the proxy, exactly ``servers`` answer; each of them answers directly too."""
        expected = {server.name for server in servers}
        seen = set(self.served_by(4 * len(servers) + 4))
        if seen != expected:
            raise BenchError(f"through {self.proxy}, {sorted(seen) or 'no app server'} answered; expected {sorted(expected)}")
        for server in servers:
            status = self.direct_status(server)
            if status != "200":
                raise BenchError(
                    f"{server.name} answered {status!r} to the lab client at {server.public}:{self.port}: the direct runs need"
                    f" the client ({self.lab.client_address}) in ufw_docker_extra_allowed_sources and the app serving"
                )

    def wrk_proxy(self, settings: Settings, *, seconds: int, label: str) -> wrk.WrkResult:
        """wrk over HTTPS with the site's name, connected to the proxy by files/resolve.lua."""
        argv = wrk.command(f"https://{self.lab.domain}{self.path}", connections=settings.connections, seconds=seconds,
                           threads=settings.threads, timeout_seconds=settings.timeout_seconds, script=CLIENT_WRK_SCRIPT)
        done = self.run(*argv, env={"DJANGOOPS_WRK_ADDRESS": self.proxy}, label=label, timeout=seconds + settings.timeout_seconds + 60)
        return wrk.parse(done.stdout)

    def wrk_direct(self, settings: Settings, servers: list[lab_plan.Server], *, seconds: int, label: str) -> list[wrk.WrkResult]:
        """One wrk per app server at the same time, straight at its published port."""
        commands = []
        for server, connections in zip(servers, wrk.split_connections(settings.connections, len(servers)), strict=True):
            argv = wrk.command(f"http://{self.guard(server.public)}:{self.port}{self.path}", connections=connections,
                               seconds=seconds, threads=settings.threads, timeout_seconds=settings.timeout_seconds,
                               headers=[f"Host: {self.lab.domain}"])
            commands.append((["docker", "exec", self.lab.client_container, *argv], f"{label}: {server.name}"))
        done = self.shell.run_parallel(commands, timeout=seconds + settings.timeout_seconds + 60)
        return [wrk.parse(item.stdout) for item in done]

    def start_load(self, workers: int, *, interval: float = 0.0, max_seconds: int = 1800) -> None:
        """Keep-alive HTTPS load to every proxy (tests/lab/files/load.py, as the lab checks use it); each
        client pauses ``interval`` seconds between its requests (0: as fast as the site answers)."""
        proxies = [self.guard(proxy.public) for proxy in self.lab.proxies]
        self.copy(REPO / "tests" / "lab" / "files" / "load.py", f"{CLIENT_LOAD}.py")
        self.run("rm", "-f", f"{CLIENT_LOAD}.stop", f"{CLIENT_LOAD}.json", label="clear the last load")
        command = shlex.join([
            "python3", f"{CLIENT_LOAD}.py", "--proxies", ",".join(proxies), "--name", self.lab.domain, "--ca", CLIENT_CA,
            "--path", self.path, "--workers", str(workers), "--interval", str(interval), "--max-seconds", str(max_seconds),
            "--stop", f"{CLIENT_LOAD}.stop", "--out", f"{CLIENT_LOAD}.json",
        ])
        self.shell.run(["docker", "exec", "-d", self.lab.client_container, "sh", "-c", f"{command} >{CLIENT_LOAD}.log 2>&1"],
                       label="start keep-alive load from the lab client", quiet=True, timeout=60)
        self.load_running = True
        pace = f", {interval:g} s between a client's requests" if interval else ""
        self.shell.say(f"keep-alive load running ({workers} clients to {', '.join(proxies)}{pace})")

    def stop_load(self) -> dict[str, t.Any]:
        """Stop the load; its summary (counts of requests, failed, retried, statuses, versions)."""
        self.run("touch", f"{CLIENT_LOAD}.stop", label="stop the load")
        self.load_running = False
        for _attempt in range(60):
            done = self.run("cat", f"{CLIENT_LOAD}.json", label="load summary", check=False)
            if done.returncode == 0:
                summary = json.loads(done.stdout)
                counts = summary.get("counts", {})
                self.shell.say(f"load: {counts.get('requests', 0)} requests in {summary.get('seconds')} s,"
                               f" {counts.get('failed', 0)} failed, {counts.get('retried', 0)} retried")
                return summary
            time.sleep(1)
        log = self.run("cat", f"{CLIENT_LOAD}.log", label="load log", check=False).output
        raise BenchError(f"the load on the lab client wrote no summary within 60 s; its log:\n{log[-2000:]}")

    def cleanup(self) -> None:
        if self.load_running:
            self.run("touch", f"{CLIENT_LOAD}.stop", label="stop the load", check=False)
            self.load_running = False


# --- The benchmarks -------------------------------------------------------------------------------

@dataclasses.dataclass
class Context:
    """What every benchmark works with; ``facts`` (machine facts) go into each record."""

    shell: Shell
    driver: LabDriver
    client: LabClient
    lab: lab_plan.Lab
    settings: Settings
    facts: dict[str, t.Any]


def _timed_site(ctx: Context, servers: int, label: str, *, env_extra: t.Mapping[str, str] | None = None,
                extra_vars: t.Mapping[str, t.Any] | None = None, check: bool = True) -> tuple[dict[str, t.Any], Done]:
    done = ctx.driver.playbook("playbooks/site.yml", servers, label=label, profile=True, env_extra=env_extra,
                               extra_vars=extra_vars, check=check)
    record = run_record(done.seconds, done.returncode, done.output, cpu_seconds=done.cpu_seconds)
    if record["changed"]:
        ctx.shell.say(f"note: {label} changed {', '.join(record['changed'])}: its time is not a no-change run's")
    return record, done


def _no_change_and_ping(ctx: Context, servers: int) -> tuple[list[dict[str, t.Any]], list[dict[str, t.Any]], str]:
    """No-change site.yml runs alternating with pings of the same hosts; the median run's output."""
    repeats = ctx.settings.repeats
    runs, pings, outputs = [], [], []
    for index in range(1, repeats + 1):
        record, done = _timed_site(ctx, servers, f"no-change site.yml, {servers} app servers ({index}/{repeats})")
        runs.append(record)
        outputs.append(done.output)
        ping = ctx.driver.ping(servers, label=f"ansible all -m ping, {servers} app servers ({index}/{repeats})")
        pings.append({"seconds": round(ping.seconds, 2), "returncode": ping.returncode, "cpu_seconds": ping.cpu_seconds})
    return runs, pings, outputs[median_index([run["seconds"] for run in runs])]


def bench_playbook(ctx: Context) -> dict[str, t.Any]:
    settings, driver = ctx.settings, ctx.driver
    low = PLAYBOOK_APP_SERVERS[0]
    driver.lab_up()
    first = driver.playbook("playbooks/site.yml", low, label="first converge of the fresh lab", profile=True)
    runs, pings, median_output = _no_change_and_ping(ctx, low)
    scale = [{"app_servers": low, "runs": runs}]
    for servers in PLAYBOOK_APP_SERVERS[1:]:
        driver.ensure_servers(servers)
        driver.converge(servers, label=f"converge with {servers} app servers")
        scale.append({"app_servers": servers, "runs": [
            _timed_site(ctx, servers, f"no-change site.yml, {servers} app servers ({index}/{settings.repeats})")[0]
            for index in range(1, settings.repeats + 1)
        ]})
    driver.restore()
    return {
        "status": "measured",
        "settings": {"repeats": settings.repeats, "forks": config_forks(REPO / "ansible.cfg"), "quick": settings.quick},
        "first_converge": {"seconds": round(first.seconds, 2), "cpu_seconds": first.cpu_seconds,
                           "changed": ansible_output.changed_hosts(ansible_output.parse_recap(first.output))},
        "ping": pings,
        "scale": scale,
        "tasks": {"first converge": ansible_output.slowest(ansible_output.parse_profile_tasks(first.output), 15),
                  "no-change run": ansible_output.slowest(ansible_output.parse_profile_tasks(median_output), 15)},
    }


def busy_note(percent: float | None) -> str:
    """This machine's CPU busy percent as the progress lines show it."""
    return "machine busy unknown" if percent is None else f"machine {percent:.0f}% busy"


def served_repeat(ctx: Context, name: str, targets: list[lab_plan.Server]) -> dict[str, t.Any]:
    """One run through the proxy, then one straight at every app server (side by side), each with
    how busy this machine's CPUs were meanwhile (the lab, its client and wrk all run on it)."""
    settings = ctx.settings
    with machine.cpu_sample() as proxy_cpu:
        proxy = ctx.client.wrk_proxy(settings, seconds=settings.seconds, label=f"{name}: wrk through the proxy")
    with machine.cpu_sample() as direct_cpu:
        direct = ctx.client.wrk_direct(settings, targets, seconds=settings.seconds, label=f"{name}: wrk direct")
    summed = wrk.combine(direct)
    ctx.shell.say(f"{name}: proxy {proxy.requests_per_second:.1f} req/s (p99 {proxy.p99_ms:.0f} ms, {proxy.errors} errors,"
                  f" {busy_note(proxy_cpu.percent)}), direct {summed['requests_per_second']:.1f} req/s"
                  f" (p99 {summed['p99_ms']:.0f} ms, {summed['errors']} errors, {busy_note(direct_cpu.percent)})")
    return {"proxy": proxy.to_dict(),
            "direct": [{"server": server.name, "result": result.to_dict()} for server, result in zip(targets, direct, strict=True)],
            "cpu_busy_percent": {side: None if sample.percent is None else round(sample.percent, 1)
                                 for side, sample in (("proxy", proxy_cpu), ("direct", direct_cpu))}}


def _served_configuration(ctx: Context, worker_class: str, servers: int) -> dict[str, t.Any]:
    settings = ctx.settings
    name = f"{worker_class}, {report.app_servers(servers)}"
    variables = served_vars(ctx.lab, servers, worker_class=worker_class, cpus=settings.cpus,
                            workers=settings.gunicorn_workers, threads=settings.gthread_threads)
    ctx.driver.converge(max(servers, ctx.driver.base_servers), variables, label=f"{name}: converge (cpus {settings.cpus})")
    targets = lab_plan.app_servers(ctx.lab, servers)
    ctx.client.check_served(targets)
    ctx.client.wrk_proxy(settings, seconds=min(3, settings.seconds), label=f"{name}: warm-up")
    repeats = []
    for index in range(1, settings.repeats + 1):
        ctx.shell.say(f"{name}: through the proxy, then direct, {settings.seconds} s each ({index}/{settings.repeats})")
        repeats.append(served_repeat(ctx, name, targets))
    return {"worker_class": worker_class, "app_servers": servers, "repeats": repeats}


def bench_served(ctx: Context) -> dict[str, t.Any]:
    settings, driver = ctx.settings, ctx.driver
    ctx.facts["wrk"] = ctx.client.wrk_version()
    ctx.client.copy(REPO / "benchmarks" / "files" / "resolve.lua", CLIENT_WRK_SCRIPT)
    driver.ensure_servers(max(SERVED_APP_SERVERS))
    runs = [_served_configuration(ctx, worker_class, servers) for worker_class in WORKER_CLASSES for servers in SERVED_APP_SERVERS]
    driver.restore()
    return {
        "status": "measured",
        "settings": {
            "seconds": settings.seconds, "connections": settings.connections, "threads": settings.threads,
            "timeout_seconds": settings.timeout_seconds, "cpus": settings.cpus, "gunicorn_workers": settings.gunicorn_workers,
            "gthread_threads": settings.gthread_threads, "repeats": settings.repeats, "proxy": ctx.client.proxy,
            "path": ctx.client.path, "quick": settings.quick,
        },
        "runs": runs,
    }


def deploy_run(ctx: Context, servers: int, batch: str | None, label: str) -> dict[str, t.Any]:
    """One measured rolling deploy of the next release under load, then (not measured) back."""
    settings, lab = ctx.settings, ctx.lab
    ctx.client.start_load(settings.load_workers, interval=settings.load_interval)
    time.sleep(3)  # the load is up before the deploy starts
    done = ctx.driver.playbook("playbooks/deploy.yml", servers, check=False, profile=True, label=f"{label}: deploy {lab.next_release}",
                               extra_vars=deploy_vars(lab.next_release, batch=batch, drain_seconds=settings.drain_seconds))
    load = ctx.client.stop_load()
    tasks = ansible_output.parse_profile_tasks(done.output)
    parts = deploy_time.breakdown(tasks, done.seconds)
    ctx.shell.say(f"{label}: {done.seconds:.1f} s: " + ", ".join(f"{deploy_time.PART_TITLES[part]} {parts[part]:.1f} s" for part in deploy_time.PARTS))
    # Back to the inventory's release for the next run, not measured and with no load: every server in one
    # batch, replaced in place (as the lab checks put the lab back), which is quicker than a rollout.
    ctx.driver.playbook("playbooks/deploy.yml", servers, label=f"{label}: back to {lab.app_version}",
                        extra_vars={**deploy_vars(lab.app_version, batch="100%", drain_seconds=settings.drain_seconds),
                                    "django_app_standby_port": 0})
    return {"app_servers": servers, "batch": batch or report.DEPLOY_DEFAULT_BATCH, "seconds": round(done.seconds, 2),
            "returncode": done.returncode, "cpu_seconds": done.cpu_seconds, "parts": parts,
            "tasks_run": ansible_output.task_starts(done.output), "slowest": ansible_output.slowest(tasks, 8), "load": load, "log": str(done.log)}


def deploy_settings(settings: Settings, lab: lab_plan.Lab) -> dict[str, t.Any]:
    """The deploy record's settings: the drain time that applied, and whether it was the role's."""
    shipped = settings.drain_seconds is None
    return {"from": lab.app_version, "to": lab.next_release, "shipped_defaults": shipped,
            "drain_seconds": role_default("django_app", "django_app_drain_seconds") if shipped else settings.drain_seconds,
            "load_workers": settings.load_workers, "load_interval": settings.load_interval, "repeats": settings.repeats, "quick": settings.quick,
            "quick_note": "--quick only takes one run of each configuration; the deploys are the same" if settings.quick else None}


def bench_deploy(ctx: Context) -> dict[str, t.Any]:
    settings, driver, lab = ctx.settings, ctx.driver, ctx.lab
    runs = []
    for servers, batch in deploy_configurations():
        name = report.batch_label(servers, batch or report.DEPLOY_DEFAULT_BATCH)
        driver.ensure_servers(servers)
        driver.converge(servers, label=f"{name}: all on release {lab.app_version}")
        runs += [deploy_run(ctx, servers, batch, f"{name} ({index}/{settings.repeats})") for index in range(1, settings.repeats + 1)]
    driver.restore()
    return {"status": "measured", "settings": deploy_settings(settings, lab), "runs": runs}


def bench_renewal(ctx: Context) -> dict[str, t.Any]:
    settings, driver = ctx.settings, ctx.driver
    driver.converge(driver.base_servers, label="converge the inventory's settings")
    ctx.client.start_load(settings.load_workers)
    time.sleep(3)
    done = driver.playbook("playbooks/renew.yml", driver.base_servers, label="forced renewal (renew.yml -e certbot_force=true)",
                           extra_vars={"certbot_force": True}, check=False)
    load = ctx.client.stop_load()
    return {"status": "measured", "settings": {"load_workers": settings.load_workers, "quick": settings.quick},
            "seconds": round(done.seconds, 2), "returncode": done.returncode, "load": load, "log": str(done.log)}


def bench_mitogen(ctx: Context) -> dict[str, t.Any]:
    settings, driver = ctx.settings, ctx.driver
    base = {"settings": {"repeats": settings.repeats, "quick": settings.quick}, "finding": MITOGEN_FINDING}
    found = driver.mitogen()
    if found is None:
        return {**base, "status": "not measured: mitogen is not installed beside Ansible (pip install -r benchmarks/requirements.txt)"}
    strategy_dir, version = found
    # Mitogen opens a new SSH connection per host and run, which UFW's default `limit` rule refuses
    # when runs come back to back: both sides run with SSH allowed, as the README tells Mitogen users.
    ssh_allowed = {"ufw_docker_ssh_rule": "allow"}
    driver.converge(driver.base_servers, ssh_allowed, label="converge the inventory's settings, SSH allowed")
    default, mitogen = [], []
    # Mitogen checks host keys itself and ignores the lab's `-o StrictHostKeyChecking=no`; both sides
    # get the same setting, which costs the default strategy nothing.
    both = {"ANSIBLE_HOST_KEY_CHECKING": "False"}
    strategy = {**both, "ANSIBLE_STRATEGY": "mitogen_linear", "ANSIBLE_STRATEGY_PLUGINS": strategy_dir}
    for index in range(1, settings.repeats + 1):
        default.append(_timed_site(ctx, driver.base_servers, f"no-change site.yml, linear ({index}/{settings.repeats})",
                                   env_extra=both, extra_vars=ssh_allowed)[0])
        record, done = _timed_site(ctx, driver.base_servers, f"no-change site.yml, mitogen_linear ({index}/{settings.repeats})",
                                   env_extra=strategy, extra_vars=ssh_allowed, check=False)
        if done.returncode:
            driver.restore()
            return {**base, "mitogen_version": version, "log": str(done.log),
                    "status": f"not measured: site.yml fails under mitogen_linear {version} (rc {done.returncode}):"
                              f" {ansible_output.last_lines(done.output, 3)}"}
        mitogen.append(record)
    driver.restore()  # SSH back to the inventory's rule
    return {**base, "status": "measured", "mitogen_version": version, "default": default, "mitogen": mitogen}


def bench_suite(ctx: Context) -> dict[str, t.Any]:
    """The newest finished `make test` run that scripts/test.sh recorded; no lab involved."""
    path = ctx.settings.suite_runs
    base = {"settings": {"quick": ctx.settings.quick}, "file": str(path)}
    try:
        newest = suite.newest(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {**base, "status": f"not measured: {path} does not exist (scripts/test.sh writes it at the end of make test)"}
    if newest is None:
        return {**base, "status": f"not measured: {path} holds no finished run of make test"}
    ctx.shell.say(f"make test: {report.minutes(newest.seconds)}, exit code {newest.exit_code}, commit {newest.commit}, ended {newest.end}")
    return {**base, "status": "measured", **newest.to_dict()}


BENCHES: dict[str, t.Callable[[Context], dict[str, t.Any]]] = {
    "playbook": bench_playbook,
    "served": bench_served,
    "deploy": bench_deploy,
    "renewal": bench_renewal,
    "mitogen": bench_mitogen,
    "suite": bench_suite,
}


# --- Results --------------------------------------------------------------------------------------

def load_results(path: pathlib.Path) -> dict[str, t.Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def load_findings(directory: pathlib.Path) -> str | None:
    """The hand-written FINDINGS.md beside RESULTS.md, if there is one (bench.py never writes it)."""
    try:
        return (directory / "FINDINGS.md").read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def write_results(settings: Settings, results: dict[str, t.Any], shell: Shell | None = None) -> None:
    directory = settings.results_dir
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    drawn, note = plots.draw(results, directory / "plots")
    relative = {name: path.relative_to(directory).as_posix() for name, path in drawn.items()}
    findings = load_findings(directory)
    (directory / "RESULTS.md").write_text(report.render(results, plots=relative, plots_note=note, findings=findings), encoding="utf-8")
    message = (f"wrote {directory / 'RESULTS.md'}" + (" (with the findings of FINDINGS.md)" if report.findings_lines(findings) else "")
               + ", results.json" + (f" and {len(drawn)} plots" if drawn else f" ({note})"))
    if shell:
        shell.say(message)
    else:
        print(message)


def _summary(results: dict[str, t.Any], shell: Shell) -> None:
    for verdict in report.verdicts(results):
        shell.say(f"{verdict.verdict:>12}  {verdict.benchmark}: {verdict.target}: {verdict.measured}")


def _run_one(ctx: Context, name: str) -> dict[str, t.Any]:
    """One benchmark's record; a benchmark that cannot go on is recorded as failed and the lab is
    converged back for the next one."""
    ctx.shell.say(f"=== {name} ===")
    try:
        record = BENCHES[name](ctx)
    except (BenchError, lab_plan.LabPlanError, wrk.WrkOutputError) as error:
        ctx.shell.say(f"{name} failed: {error}")
        record = {"status": f"failed: {str(error).splitlines()[0]}", "settings": {"quick": ctx.settings.quick}}
        ctx.client.cleanup()
        try:
            if name not in LAB_FREE:
                ctx.driver.restore()
        except BenchError as restore_error:
            ctx.shell.say(f"could not converge the lab back: {restore_error}")
    record.update(date=now(), machine=dict(ctx.facts))
    return record


def run(settings: Settings, argv: t.Sequence[str]) -> int:
    results_path = settings.results_dir / "results.json"
    if settings.render_only:
        results = load_results(results_path)
        if results is None:
            print(f"{results_path} does not exist: run the benchmarks first", file=sys.stderr)
            return 1
        write_results(settings, results)
        return 0
    shell = Shell(settings.log_dir)
    lab = lab_plan.load_lab(REPO / LAB_INVENTORY)
    command = shlex.join(["python", "benchmarks/bench.py", *argv])
    failed = []
    with tempfile.TemporaryDirectory(prefix="djangoops-bench-") as work:
        driver = LabDriver(shell, lab, pathlib.Path(work))
        ctx = Context(shell, driver, LabClient(shell, lab), lab, settings, machine.collect(driver.env()))
        shell.say(f"benchmarks: {', '.join(settings.only)}; logs in {settings.log_dir}")
        try:
            # playbook makes a fresh lab itself; suite needs none.
            if "playbook" not in settings.only and any(name not in LAB_FREE for name in settings.only):
                driver.ensure_lab(fresh=settings.fresh_lab)
            for name in settings.only:
                record = _run_one(ctx, name)
                if record["status"].startswith("failed"):
                    failed.append(name)
                results = report.merge(load_results(results_path), {"command": command, "benchmarks": {name: record}})
                write_results(settings, results, shell)
        finally:
            ctx.client.cleanup()
    _summary(load_results(results_path) or {}, shell)
    return 1 if failed else 0


def main(argv: t.Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    return run(parse_args(argv), argv)


if __name__ == "__main__":
    sys.exit(main())
