"""Releases of the app (issue: app releases done right), on the lab's two app servers behind two
proxies: a rolling deploy of a new tag under continuous load fails no request, migrations of the
new release run once and before any app container changes, static files are uploaded only when
the storage holds another release's, a release whose health check fails stops at the first
server, and rollback.yml returns to the last good release, also when run twice; hooks run before the
migrations (a failing one stops the release) and after the rollout, and each server keeps only the images
of the releases its history names. The lab ends on the release it started with."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import time

import pytest
import testinfra
import yaml

from conftest import RESTORE_ARGS, StartedPlaybook, psql, restore_release, run_playbook, server, unapply_next_release_migration


NEXT, BROKEN = "1.1.0", "1.2.0"
SECRETS = ("django_secret_key", "database_password", "admin_password", "s3_secret_key", "registry_password", "become_password")


def _running(name: str) -> tuple[str, str]:
    """The image and start time of the app container on an app server."""
    server = testinfra.get_host(f"docker://djangoops-lab-{name}")
    return tuple(server.check_output("docker inspect --format '{{.Config.Image}} {{.State.StartedAt}}' polls").split())


def _deploy(version: str, *args: str, playbook: str = "playbooks/deploy.yml"):
    return run_playbook(playbook, "-e", f"lab_app_version={version}", *args)


def _recap(run) -> dict[str, str]:
    return dict(re.findall(r"^(app\d)\s+: ok=\d+\s+changed=(\d+)", run.stdout, re.M))


def _image(lab, version: str) -> str:
    return f"{lab.all_vars['lab_registry_address']}:5000/djangoops/polls:{version}"


def _marker(lab, version: str) -> str:
    """What the storage's static files marker holds once collectstatic (run from the first app
    server, app1) uploaded a release: its image and that image's ID (sha256 of its content)."""
    image = _image(lab, version)
    image_id = server("app1").check_output("docker image inspect --format '{{.Id}}' %s", image)
    return f"{image} {image_id}"


def _static(client, lab, path: str) -> str:
    """A static file as the S3 server serves it to browsers."""
    return client.run(f"curl -sS --fail --cacert /lab/pki/lab-ca.pem {lab.s3_endpoint}/polls-static/static/{path}").stdout.strip()


def _upstream(proxy: str) -> str:
    return testinfra.get_host(f"docker://djangoops-lab-{proxy}").file("/etc/djangoops/nginx/conf.d/upstream.conf").content_string


NEXT_MIGRATION = "0002_question_pub_date_index"  # tests/lab/images/polls-next
# The app container's label with the sha256 of the storage CA bundle it was started with: a new
# bundle changes the label, so the container is replaced and the app reads the new bundle.
CA_LABEL = "djangoops.fleet.static-ca-sha256"
CA_ON_HOST = "/etc/djangoops/polls/static-ca.pem"  # <django_app_config_dir>/static-ca.pem
CA_IN_CONTAINER = "/etc/djangoops/static-ca.pem"  # AWS_CA_BUNDLE


@pytest.mark.readonly
def test_a_new_storage_ca_bundle_reaches_the_running_app_containers(lab):
    """Read-only (no converge): on each app server, the running app container carries the sha256
    of the CA bundle the role put on that server, and sees that very file."""
    assert lab.all_vars.get("django_app_static_ca_bundle"), "the lab sets no storage CA bundle: nothing to check"
    controller = hashlib.sha256((lab.state_dir / "pki" / "lab-ca.pem").read_bytes()).hexdigest()
    for name in lab.app_servers:
        app = server(name)
        on_host = app.check_output(f"sha256sum {CA_ON_HOST}").split()[0]
        label = app.check_output(f"docker inspect --format '{{{{index .Config.Labels \"{CA_LABEL}\"}}}}' polls")
        in_container = app.check_output(
            f"docker exec polls python -c 'import hashlib; print(hashlib.sha256(open(\"{CA_IN_CONTAINER}\", \"rb\").read()).hexdigest())'")
        assert on_host == controller, (name, on_host, controller)
        assert label == on_host, (name, label, on_host)
        assert in_container == on_host, (name, in_container, on_host)


@pytest.fixture(scope="module")
def start_version(lab):
    version = lab.all_vars["lab_app_version"]
    # Earlier checks may have applied the next release's migration; these checks watch it being applied.
    unapply_next_release_migration(lab)
    # Earlier checks deployed other releases too; these start from a history of the current one.
    for name in lab.app_servers:
        server(name).check_output(f"printf -- '- %s\\n' {_image(lab, version)} > /etc/djangoops/polls/releases.yml")
    yield version
    # Whatever happened, leave the lab on the inventory's release and settings, every server in the
    # proxies' upstreams (deploy.yml puts drained servers back).
    restore_release()
    unapply_next_release_migration(lab)


@pytest.mark.changes_lab
def test_a_failing_pre_migrate_hook_stops_the_release_before_any_migration(lab, start_version):
    """A backup before migrating that fails (as one whose bucket is unreachable would): the release stops with the
    hook's output, no migration applied, no container changed."""
    migrations = psql("SELECT count(*), max(id) FROM django_migrations")
    before = {name: _running(name) for name in lab.app_servers}
    hook = ["python", "-c", "import sys; print('djangoops lab backup: bucket unreachable'); sys.exit(3)"]
    run = _deploy(NEXT, "-e", json.dumps({"django_app_pre_migrate_command": hook}))
    said = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0, said[-5000:]
    assert "the release step 'pre-migrate' failed (exit code 3)" in said, said[-5000:]
    assert "djangoops lab backup: bucket unreachable" in said, said[-5000:]
    assert psql("SELECT count(*), max(id) FROM django_migrations") == migrations
    assert {name: _running(name) for name in lab.app_servers} == before


@pytest.mark.changes_lab
def test_a_rolling_deploy_under_load_fails_no_request(client, lab, start_version):
    assert psql("SELECT count(*) FROM django_migrations WHERE app = 'polls'") == "1"
    webhook = client.start_webhook(max_seconds=300)
    # Hooks in the release image with the env file: before migrating (here it lists the migrations, as a backup
    # would read the database), and once every server runs the release (a notification to the lab's receiver).
    hooks = {"django_app_pre_migrate_command": ["python", "manage.py", "showmigrations", "polls"],
             "django_app_post_deploy_command": [
                 "python", "-c", "import json, os, urllib.request as r; r.urlopen(r.Request(%r, method='POST',"
                 " data=json.dumps({'event': 'deployed', 'release': os.environ['APP_VERSION']}).encode(),"
                 " headers={'Content-Type': 'application/json'}), timeout=10)" % webhook]}
    client.start_load(lab.proxy_addresses)
    # Draining waits 20 s per server for requests in flight: long enough for the lab's load to send
    # more than 5,000 requests while the release rolls out.
    try:
        run = _deploy(NEXT, "-e", "django_app_drain_seconds=20", "-e", json.dumps(hooks))
        load = client.stop_load()
        assert run.returncode == 0, run.stdout + run.stderr
        # The pre-migrate hook ran before the migration; the post-deploy hook after the last server.
        assert f"[ ] {NEXT_MIGRATION}" in run.stdout, run.stdout[-5000:]
        posts = client.webhook_posts()
        assert [post["body"] for post in posts] == [{"event": "deployed", "release": NEXT}], posts
        assert posts[0]["from"] in {app["ansible_host"] for app in lab.app_servers.values()}, posts
    finally:
        client.stop_webhook()
    counts = load["counts"]
    print(f"rolling deploy {start_version} -> {NEXT}: {counts.get('requests')} requests in {load['seconds']} s,"
          f" {counts.get('failed', 0)} failed, {counts.get('retried', 0)} retried on a closed keep-alive connection;"
          f" {counts}")
    assert counts.get("failed", 0) == 0, load["failures"]
    assert counts["requests"] >= 5000, counts
    # Both releases answered during the rollout, from both servers.
    assert 0 < counts.get(f"version {NEXT}", 0) < counts["requests"], counts
    assert counts.get("served by app1", 0) > 0 and counts.get("served by app2", 0) > 0, counts
    for name in ("app1", "app2"):
        assert _running(name)[0].endswith(f":{NEXT}")
    # Every proxy has both servers back in its upstream.
    for proxy in lab.proxies:
        assert " down;" not in _upstream(proxy), _upstream(proxy)


@pytest.mark.changes_lab
def test_the_new_release_migrated_once_before_any_app_container_changed(start_version):
    rows = psql(f"SELECT count(*), min(applied) FROM django_migrations WHERE app = 'polls' AND name = '{NEXT_MIGRATION}'")
    count, applied = rows.split("|")
    assert count == "1"
    applied_at = datetime.datetime.fromisoformat(applied)
    for name in ("app1", "app2"):
        started_at = datetime.datetime.fromisoformat(_running(name)[1].replace("Z", "+00:00")[:26] + "+00:00")
        assert applied_at < started_at, (name, applied_at, started_at)
    assert psql("SELECT count(*) FROM pg_indexes WHERE indexname = 'polls_question_pub_date_djangoops'") == "1"


@pytest.mark.changes_lab
def test_deploying_the_same_release_again_changes_nothing_and_uploads_nothing(client, lab, start_version):
    again = _deploy(NEXT)
    assert again.returncode == 0, again.stdout + again.stderr
    # collectstatic reports a change unless the storage's marker names this release (image and ID) already.
    assert _recap(again) == {"app1": "0", "app2": "0"}, again.stdout
    assert _static(client, lab, ".djangoops/static-release") == _marker(lab, NEXT)
    # The release's own files were uploaded, replacing the previous release's.
    assert "djangoops lab release 1.1.0" in _static(client, lab, "polls/style.css")


@pytest.mark.changes_lab
def test_migrations_wait_for_a_concurrent_run(start_version):
    """A session holding the advisory lock (another deploy migrating) makes this run's migrate wait;
    the session ends once the run is seen waiting for the lock in PostgreSQL."""
    postgres = testinfra.get_host("docker://djangoops-lab-postgres")
    # Held until the deploy waits for it, at most 300 s (bounded if the deploy never gets there).
    key, hold = 0x646A616E676F6F70, 300
    postgres.run("nohup su postgres -c %s >/dev/null 2>&1 &",
                 f"psql -d polls -c 'SELECT pg_advisory_lock({key}); SELECT pg_sleep({hold});'")
    held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    for _attempt in range(50):
        if psql(held) == "1":
            break
        time.sleep(0.2)
    assert psql(held) == "1", "the other session never took the lock"
    # The release is deployed already: without its steps' record (on the first app server) the run does
    # them again, as after a database restore. -v shows the one-off container's output in the task result.
    server("app1").check_output("rm -f /etc/djangoops/polls/release-steps.sha256")
    deploy = StartedPlaybook("playbooks/deploy.yml", "-e", f"lab_app_version={NEXT}", "-v", "-e", "django_app_collectstatic=false")
    waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    try:
        for _attempt in range(600):
            if psql(waiting) == "1" or deploy.process.poll() is not None:
                break
            time.sleep(0.5)
        assert psql(waiting) == "1", "the deploy never waited for the lock:\n" + deploy.printed()[-5000:]
    finally:
        # The other run finishes: its session ends, and the lock with it.
        psql("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted")
    run = deploy.wait()
    assert run.returncode == 0, run.stdout
    assert "djangoops: waiting for the migration lock (another run is migrating)" in run.stdout
    assert "djangoops: holding the migration lock" in run.stdout
    assert psql(held) == "0"


@pytest.mark.changes_lab
def test_a_release_failing_its_health_check_stops_at_the_first_server(client, lab, start_version):
    client.start_steady_load(lab.proxy_addresses)
    run = _deploy(BROKEN, "-e", "django_app_healthcheck_timeout=6")  # it never serves: no need to wait long
    load = client.stop_load()
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert f"app1: 10.87.0.21:5000/djangoops/polls:{BROKEN} did not serve" in output, output
    assert "The rollout stops here: app1 stays out of the proxies' upstream" in output
    assert "Last container output:" in output
    # app2 was never touched: it still runs the previous release and serves every request.
    assert _running("app2")[0].endswith(f":{NEXT}")
    counts = load["counts"]
    print(f"failed release {BROKEN}: {counts.get('requests')} requests during the run, {counts.get('failed', 0)} failed; {counts}")
    assert counts.get("failed", 0) == 0, load["failures"]
    assert counts.get(f"version {BROKEN}", 0) == 0
    for proxy in lab.proxies:
        assert f"server {lab.private_name('app1')}:8000 max_fails=3 fail_timeout=10s down;" in _upstream(proxy)


@pytest.mark.changes_lab
def test_a_rollback_after_the_failed_release_returns_to_the_last_good_one(client, lab, start_version):
    client.start_steady_load(lab.proxy_addresses)
    run = run_playbook("playbooks/rollback.yml", "-vvvv")
    load = client.stop_load()
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    # Not the release before 1.1.0: app1's deploy of 1.2.0 stopped, 1.1.0 is the last that went live.
    said = " ".join(output.split())  # the callback wraps long messages
    assert f"Rolling back to {_image(lab, NEXT)}, leaving {_image(lab, BROKEN)} (app1 runs {_image(lab, BROKEN)}," in said, output[-5000:]
    for name in ("app1", "app2"):
        assert _running(name)[0] == _image(lab, NEXT), name
    for proxy in lab.proxies:
        assert " down;" not in _upstream(proxy)
    assert load["counts"].get("failed", 0) == 0, load["failures"]
    # Even at -vvvv, with containers replaced and one-off containers run, no secret is printed.
    leaked = [name for name in SECRETS if lab.secret(name) in output]
    assert leaked == [], f"secrets in the -vvvv output: {leaked}"


@pytest.mark.changes_lab
def test_an_env_file_change_shows_in_the_diff_with_secrets_masked(lab, start_version):
    run = _deploy(NEXT, "--diff", "-e", '{"django_app_extra_env": {"DJANGOOPS_RELEASE_NOTE": "masked-diff-check"},'
                  ' "django_app_cpus": 0.5, "django_app_memory": "512m"}')
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    # The resource limits reached the containers (replaced one at a time, like any change).
    for name in ("app1", "app2"):
        server = testinfra.get_host(f"docker://djangoops-lab-{name}")
        limits = server.check_output("docker inspect --format '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}' polls")
        assert limits == f"500000000 {512 * 1024 * 1024}", (name, limits)
    assert "+DJANGOOPS_RELEASE_NOTE=masked-diff-check" in output
    assert "DJANGO_SECRET_KEY=********" in output and "DATABASE_PASSWORD=********" in output
    # Public settings show in clear (the diff's context lines); Gunicorn trusts the addresses the app
    # server resolved the proxies' private names to.
    proxies = ",".join(proxy["private_address"] for proxy in lab.proxies.values())
    assert f"FORWARDED_ALLOW_IPS={proxies}" in output
    leaked = [name for name in SECRETS if lab.secret(name) in output]
    assert leaked == [], f"secrets in the diff: {leaked}"
    # The deploys replaced both containers: each server holds only the images its history names (the release
    # that failed its health check, and any other release the history does not hold, are gone).
    for name in ("app1", "app2"):
        app = testinfra.get_host(f"docker://djangoops-lab-{name}")
        history = set(yaml.safe_load(app.file("/etc/djangoops/polls/releases.yml").content_string))
        repository = _image(lab, NEXT).rsplit(":", 1)[0]
        held = set(app.check_output("docker images --format '{{.Repository}}:{{.Tag}}' %s", repository).split())
        assert held == history == {_image(lab, start_version), _image(lab, NEXT)}, (name, held, history)
    # Back to the inventory's settings: the extra variable leaves the env file again.
    back = _deploy(NEXT, "--diff")
    assert back.returncode == 0, back.stdout + back.stderr
    # A removed key is masked too: nothing says its old value was not a secret.
    assert "-DJANGOOPS_RELEASE_NOTE=********" in back.stdout
    for name in ("app1", "app2"):
        server = testinfra.get_host(f"docker://djangoops-lab-{name}")
        assert server.check_output("docker inspect --format '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}' polls") == "0 0"


@pytest.mark.changes_lab
def test_rollback_returns_to_the_previous_release_even_when_run_twice(client, lab, start_version):
    client.start_steady_load(lab.proxy_addresses)
    # A rollback that reached app1 only (as if interrupted): app1 is drained first, app2 serves.
    partial = run_playbook("playbooks/rollback.yml", "--limit", "app1")
    assert partial.returncode == 0, partial.stdout + partial.stderr
    assert _running("app1")[0] == _image(lab, start_version) and _running("app2")[0] == _image(lab, NEXT)
    # Run again on every server: the same release, from app2's longer history.
    run = run_playbook("playbooks/rollback.yml")
    load = client.stop_load()
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"Rolling back to {_image(lab, start_version)}, leaving {_image(lab, NEXT)}" in run.stdout
    assert _recap(run)["app1"] == "0", run.stdout  # app1 had returned already
    for name in ("app1", "app2"):
        assert _running(name)[0] == _image(lab, start_version), name
    counts = load["counts"]
    print(f"rollback in two runs: {counts.get('requests')} requests, {counts.get('failed', 0)} failed; {counts}")
    assert counts.get("failed", 0) == 0, load["failures"]
    # The older release's static files are back, though the newer ones were uploaded later.
    assert _static(client, lab, ".djangoops/static-release") == _marker(lab, start_version)
    assert "djangoops lab release 1.1.0" not in _static(client, lab, "polls/style.css")
    # Nothing left to roll back to.
    again = run_playbook("playbooks/rollback.yml")
    assert again.returncode != 0
    assert "holds no release before the current one" in again.stdout + again.stderr


@pytest.mark.changes_lab
def test_after_three_deploys_and_a_prune_each_server_rolls_back_to_every_release_it_holds(lab, start_version):
    """Three releases remembered (django_app_history_length=3) and three deploys in a row (1.1.0, 1.1.1,
    1.1.2: distinct images): each server holds the images of those three only (the start release's was
    pruned), and rollback.yml returns to each remembered release in turn, from the server's own images."""
    remembered = ("-e", "django_app_history_length=3", *RESTORE_ARGS)
    releases = [NEXT, "1.1.1", "1.1.2"]
    for version in releases:
        run = _deploy(version, *remembered)
        assert run.returncode == 0, run.stdout[-5000:] + run.stderr
    repository = _image(lab, NEXT).rsplit(":", 1)[0]

    def held(name: str) -> set[str]:
        return set(server(name).check_output("docker images --format '{{.Repository}}:{{.Tag}}' %s", repository).split())

    for name in lab.app_servers:
        history = yaml.safe_load(server(name).file("/etc/djangoops/polls/releases.yml").content_string)
        assert history == [_image(lab, version) for version in releases], (name, history)
        assert held(name) == set(history), (name, held(name), history)
    # Back to each earlier release: its image was kept, so nothing is pulled.
    for version in reversed(releases[:-1]):
        back = run_playbook("playbooks/rollback.yml", *remembered)
        assert back.returncode == 0, back.stdout[-5000:] + back.stderr
        assert re.search(r"TASK \[djangoops\.fleet\.site : Pull the image where it is missing[^\n]*\n(?:(ok|skipping): \[app\d\]\n)+\n",
                         back.stdout), back.stdout[-8000:]
        for name in lab.app_servers:
            assert _running(name)[0] == _image(lab, version), (name, version)
    # Nothing before the first remembered release: the pruned one is out of reach, as the history says.
    again = run_playbook("playbooks/rollback.yml", *remembered)
    assert again.returncode != 0 and "holds no release before the current one" in again.stdout + again.stderr
