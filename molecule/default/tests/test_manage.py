"""One-off management commands (playbooks/manage.yml) on the grown second site (own_site.py), in the second lane:
a command runs once, on the first app server, in a container of the release it runs, with the env file, its
output shown with no secret; a failing one fails the run with its output; a missing or malformed one stops before
any host is contacted; check mode runs nothing; a held fleet lock makes it wait, or refuse naming the holder."""

from __future__ import annotations

import json
import re
import time

import pytest

from conftest import StartedPlaybook, run_playbook, server


pytestmark = pytest.mark.changes_lab

SECRETS = ("django_secret_key", "database_password", "admin_password", "s3_secret_key", "registry_password", "become_password")
LOCK = "/var/lib/djangoops/fleet.lock"  # site_lock_path on site_lock_host, the site's first proxy
ONE_OFF = "TASK [djangoops.fleet.django_app : Run in a one-off container | manage]"


def _manage(site, *args: str):
    return run_playbook("playbooks/manage.yml", *args, inventories=site.inventories)


def _said(run) -> str:
    return " ".join((run.stdout + run.stderr).split())  # the callback wraps long lines


def _hosts_of(output: str, banner: str) -> list[str]:
    """The hosts a task reported on, in the lines after its banner."""
    found = re.search(re.escape(banner) + r"[^\n]*\n((?:(?:ok|changed|fatal|skipping): \[[^\]]+\][^\n]*\n)+)", output)
    return re.findall(r"^\w+: \[([^\]]+)\]", found.group(1), re.M) if found else []


def _lock_host(site):
    return server(next(iter(site.proxies)))


def test_a_command_runs_once_in_the_running_release_and_prints_no_secret(site):
    first = next(iter(site.app_servers))
    release = server(first).check_output("docker inspect --format '{{.Config.Image}}' polls").rsplit(":", 1)[1]
    script = ("import os; print('djangoops release', os.environ['APP_VERSION']);"
              " print('djangoops key', os.environ['DJANGO_SECRET_KEY']); print('djangoops db', os.environ['DATABASE_PASSWORD'])")
    run = _manage(site, "-e", json.dumps({"django_app_manage_args": ["shell", "-c", script]}))
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    said = _said(run)
    # With the release and settings the app runs, once, on the first app server.
    assert f"djangoops release {release}" in said, said[-3000:]
    assert _hosts_of(run.stdout, ONE_OFF) == [first], run.stdout[-5000:]
    # The secrets it printed are masked; none appears anywhere in the run's output.
    assert "djangoops key ********" in said and "djangoops db ********" in said, said[-3000:]
    leaked = [name for name in SECRETS if site.secret(name) in output]
    assert leaked == [], f"secrets in the output: {leaked}"


def test_a_command_given_as_text_shows_its_output(site):
    run = _manage(site, "-e", "django_app_manage_args='showmigrations polls'")
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr
    assert "[X] 0001_initial" in run.stdout, run.stdout[-5000:]


def test_a_failing_command_fails_the_run_with_its_output(site):
    run = _manage(site, "-e", "django_app_manage_args=nosuchcommand")
    said = _said(run)
    assert run.returncode != 0, said[-5000:]
    assert "the release step 'manage' failed (exit code 1)" in said, said[-5000:]
    assert "Unknown command: 'nosuchcommand'" in said, said[-5000:]


@pytest.mark.parametrize(("extra", "says"), [
    ("{}", "django_app_manage_args is empty: give the management command to run, such as clearsessions (-e django_app_manage_args=clearsessions)"),
    ('{"django_app_manage_args": "--settings=other check"}',
     "django_app_manage_args must start with the name of a management command (such as clearsessions or migrate), not '--settings=other'"),
    ('{"django_app_manage_args": {"command": "check"}}', "django_app_manage_args must be a management command"),
])
def test_a_missing_or_malformed_command_stops_before_any_host_is_contacted(site, extra, says):
    run = _manage(site, "-e", extra)
    said = _said(run)
    assert run.returncode != 0, said[-5000:]
    assert says in said, said[-5000:]
    # The first play failed; the preflight, which is the first to contact a host, never started.
    assert "PLAY [Preflight" not in run.stdout, run.stdout[-3000:]


def test_check_mode_says_what_would_run_and_runs_nothing(site):
    first = next(iter(site.app_servers))
    run = _manage(site, "--check", "-e", "django_app_manage_args=clearsessions")
    said = _said(run)
    assert run.returncode == 0, said[-5000:]
    assert f"{first} would run python manage.py clearsessions in a container of" in said, said[-5000:]
    assert ONE_OFF not in run.stdout


def test_a_held_fleet_lock_makes_it_refuse_naming_the_holder_or_wait(site):
    """A lock as another controller's deploy holds it: with little patience (site_lock_wait) the command refuses,
    naming the holder; with the default it waits, and runs once the holder is done."""
    renewed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    record = {"run_id": "0123456789abcdef", "controller": "awx-node-2", "user": "carol", "pid": 77,
              "playbooks": ["playbooks/deploy.yml"], "since": renewed, "renewed": renewed}
    lock_host = _lock_host(site)
    lock_host.run(f"mkdir -p /var/lib/djangoops && echo %s > {LOCK}", json.dumps(record))
    try:
        refused = _manage(site, "-e", "django_app_manage_args=clearsessions", "-e", "site_lock_wait=3")
        said = _said(refused)
        assert refused.returncode != 0, said[-5000:]
        assert "is held by carol@awx-node-2 running playbooks/deploy.yml (process 77, run 0123456789abcdef)" in said, said[-5000:]
        assert ONE_OFF not in refused.stdout

        waiting = StartedPlaybook("playbooks/manage.yml", "-e", "django_app_manage_args=clearsessions", inventories=site.inventories)
        try:
            waiting.wait_until("TASK [djangoops.fleet.site : Fleet lock on site_lock_host | present]", timeout=300)
            time.sleep(5)  # it finds the lock held, and waits
        finally:
            lock_host.run(f"rm -f {LOCK}")  # the deploy is done
        run = waiting.wait()
    finally:
        lock_host.run(f"rm -f {LOCK}")
    said = _said(run)
    assert run.returncode == 0, said[-5000:]
    assert "fleet lock: held by carol@awx-node-2 running playbooks/deploy.yml" in said, said[-5000:]
    assert "Took the fleet lock after" in said, said[-5000:]
    assert ONE_OFF in run.stdout
    assert lock_host.run(f"test -e {LOCK}").rc == 1, "the lock was not released"
