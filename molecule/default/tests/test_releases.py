"""Releases of the app (issue: app releases done right), on the second site grown by test_start_small.py (three
app servers, the first also a proxy, behind two proxies: own_site.py), in the second lane beside the main
sequence: a rolling deploy of a new tag under continuous load fails no request, migrations of the new release
run once and before any app container changes, static files are uploaded only when the storage holds another
release's, a release whose health check fails stops at the first server, and rollback.yml returns to the last
good release, also when run twice; hooks run before the migrations (a failing one stops the release) and after
the rollout, and each server keeps only the images of the releases its history names. The site ends on the
release it started with."""

from __future__ import annotations

import datetime
import json
import re
import time

import pytest
import testinfra
import yaml

from conftest import RESTORE_ARGS, StartedPlaybook, changed_per_host, psql, restore_release, run_playbook, server, unapply_next_release_migration


pytestmark = pytest.mark.changes_lab

NEXT, BROKEN = "1.1.0", "1.2.0"
SECRETS = ("django_secret_key", "database_password", "admin_password", "s3_secret_key", "registry_password", "become_password")
NEXT_MIGRATION = "0002_question_pub_date_index"  # tests/lab/images/polls-next


def _apps(site) -> list[str]:
    return list(site.app_servers)


def _running(name: str) -> tuple[str, str]:
    """The image and start time of the app container on an app server."""
    return tuple(server(name).check_output("docker inspect --format '{{.Config.Image}} {{.State.StartedAt}}' polls").split())


def _deploy(site, version: str, *args: str, playbook: str = "playbooks/deploy.yml"):
    return run_playbook(playbook, "-e", f"lab_app_version={version}", *args, inventories=site.inventories)


def _rollback(site, *args: str):
    return run_playbook("playbooks/rollback.yml", *args, inventories=site.inventories)


def _recap(site, run) -> dict[str, str]:
    """changed= of each app server in a run's recap."""
    changed = changed_per_host(run.stdout)
    return {name: str(changed[name]) for name in site.app_servers if name in changed}


def _image(site, version: str) -> str:
    return f"{site.all_vars['lab_registry_address']}:5000/djangoops/polls:{version}"


def _psql(site, sql: str) -> str:
    return psql(sql, site.database)


def _marker(site, version: str) -> str:
    """What the storage's static files marker holds once collectstatic (run from the first app
    server) uploaded a release: its image and that image's ID (sha256 of its content)."""
    image = _image(site, version)
    image_id = server(_apps(site)[0]).check_output("docker image inspect --format '{{.Id}}' %s", image)
    return f"{image} {image_id}"


def _static(site_client, site, path: str) -> str:
    """A static file as the S3 server serves it to browsers, from the site's bucket."""
    bucket = site.all_vars["django_app_static_bucket_name"]
    return site_client.run(f"curl -sS --fail --cacert /lab/pki/lab-ca.pem {site.s3_endpoint}/{bucket}/static/{path}").stdout.strip()


def _upstream(proxy: str) -> str:
    return server(proxy).file("/etc/djangoops/nginx/conf.d/upstream.conf").content_string


@pytest.fixture(scope="module")
def start_version(site):
    version = site.all_vars["lab_app_version"]
    # The grown site may run another release (the next one, as test_start_small leaves it): back to the
    # inventory's, and without the next release's migration, which these checks watch being applied.
    restore_release(inventories=site.inventories)
    unapply_next_release_migration(site)
    # Earlier checks deployed other releases too; these start from a history of the current one.
    for name in site.app_servers:
        server(name).check_output(f"printf -- '- %s\\n' {_image(site, version)} > /etc/djangoops/polls/releases.yml")
    yield version
    # Whatever happened, leave the site on the inventory's release and settings, every server in the
    # proxies' upstreams (deploy.yml puts drained servers back).
    restore_release(inventories=site.inventories)
    unapply_next_release_migration(site)


def test_a_failing_pre_migrate_hook_stops_the_release_before_any_migration(site, start_version):
    """A backup before migrating that fails (as one whose bucket is unreachable would): the release stops with the
    hook's output, no migration applied, no container changed."""
    migrations = _psql(site, "SELECT count(*), max(id) FROM django_migrations")
    before = {name: _running(name) for name in site.app_servers}
    hook = ["python", "-c", "import sys; print('djangoops lab backup: bucket unreachable'); sys.exit(3)"]
    run = _deploy(site, NEXT, "-e", json.dumps({"django_app_pre_migrate_command": hook}))
    said = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0, said[-5000:]
    assert "the release step 'pre-migrate' failed (exit code 3)" in said, said[-5000:]
    assert "djangoops lab backup: bucket unreachable" in said, said[-5000:]
    assert _psql(site, "SELECT count(*), max(id) FROM django_migrations") == migrations
    assert {name: _running(name) for name in site.app_servers} == before


def test_a_rolling_deploy_under_load_fails_no_request(site_client, site, start_version):
    assert _psql(site, "SELECT count(*) FROM django_migrations WHERE app = 'polls'") == "1"
    webhook = site_client.start_webhook(max_seconds=300)
    # Hooks in the release image with the env file: before migrating (here it lists the migrations, as a backup
    # would read the database), and once every server runs the release (a notification to the lab's receiver).
    hooks = {"django_app_pre_migrate_command": ["python", "manage.py", "showmigrations", "polls"],
             "django_app_post_deploy_command": [
                 "python", "-c", "import json, os, urllib.request as r; r.urlopen(r.Request(%r, method='POST',"
                 " data=json.dumps({'event': 'deployed', 'release': os.environ['APP_VERSION']}).encode(),"
                 " headers={'Content-Type': 'application/json'}), timeout=10)" % webhook]}
    site_client.start_load(site.proxy_addresses)
    # Draining waits 20 s per server for requests in flight: long enough for the lab's load to send
    # more than 5,000 requests while the release rolls out.
    try:
        run = _deploy(site, NEXT, "-e", "django_app_drain_seconds=20", "-e", json.dumps(hooks))
        load = site_client.stop_load()
        assert run.returncode == 0, run.stdout + run.stderr
        # The pre-migrate hook ran before the migration; the post-deploy hook after the last server.
        assert f"[ ] {NEXT_MIGRATION}" in run.stdout, run.stdout[-5000:]
        posts = site_client.webhook_posts()
        assert [post["body"] for post in posts] == [{"event": "deployed", "release": NEXT}], posts
        assert posts[0]["from"] in {app["ansible_host"] for app in site.app_servers.values()}, posts
    finally:
        site_client.stop_webhook()
    counts = load["counts"]
    print(f"rolling deploy {start_version} -> {NEXT}: {counts.get('requests')} requests in {load['seconds']} s,"
          f" {counts.get('failed', 0)} failed, {counts.get('retried', 0)} retried on a closed keep-alive connection;"
          f" {counts}")
    assert counts.get("failed", 0) == 0, load["failures"]
    assert counts["requests"] >= 5000, counts
    # Both releases answered during the rollout, from every server.
    assert 0 < counts.get(f"version {NEXT}", 0) < counts["requests"], counts
    assert all(counts.get(f"served by {name}", 0) > 0 for name in site.app_servers), counts
    for name in site.app_servers:
        assert _running(name)[0].endswith(f":{NEXT}")
    # Every proxy has every server back in its upstream.
    for proxy in site.proxies:
        assert " down;" not in _upstream(proxy), _upstream(proxy)


def test_the_new_release_migrated_once_before_any_app_container_changed(site, start_version):
    rows = _psql(site, f"SELECT count(*), min(applied) FROM django_migrations WHERE app = 'polls' AND name = '{NEXT_MIGRATION}'")
    count, applied = rows.split("|")
    assert count == "1"
    applied_at = datetime.datetime.fromisoformat(applied)
    for name in site.app_servers:
        started_at = datetime.datetime.fromisoformat(_running(name)[1].replace("Z", "+00:00")[:26] + "+00:00")
        assert applied_at < started_at, (name, applied_at, started_at)
    assert _psql(site, "SELECT count(*) FROM pg_indexes WHERE indexname = 'polls_question_pub_date_djangoops'") == "1"


def test_deploying_the_same_release_again_changes_nothing_and_uploads_nothing(site_client, site, start_version):
    again = _deploy(site, NEXT)
    assert again.returncode == 0, again.stdout + again.stderr
    # collectstatic reports a change unless the storage's marker names this release (image and ID) already.
    assert _recap(site, again) == dict.fromkeys(site.app_servers, "0"), again.stdout
    assert _static(site_client, site, ".djangoops/static-release") == _marker(site, NEXT)
    # The release's own files were uploaded, replacing the previous release's.
    assert "djangoops lab release 1.1.0" in _static(site_client, site, "polls/style.css")


def test_migrations_wait_for_a_concurrent_run(site, start_version):
    """A session holding the advisory lock (another deploy migrating) makes this run's migrate wait;
    the session ends once the run is seen waiting for the lock in PostgreSQL. Advisory locks belong to a
    database: the queries look at this site's only (the main site may migrate meanwhile)."""
    postgres = testinfra.get_host("docker://djangoops-lab-postgres")
    # Held until the deploy waits for it, at most 300 s (bounded if the deploy never gets there).
    key, hold = 0x646A616E676F6F70, 300
    postgres.run("nohup su postgres -c %s >/dev/null 2>&1 &",
                 f"psql -d {site.database} -c 'SELECT pg_advisory_lock({key}); SELECT pg_sleep({hold});'")
    here = f"locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = '{site.database}')"
    held = f"SELECT count(*) FROM pg_locks WHERE {here} AND granted"
    for _attempt in range(50):
        if _psql(site, held) == "1":
            break
        time.sleep(0.2)
    assert _psql(site, held) == "1", "the other session never took the lock"
    # The release is deployed already: without its steps' record (on the first app server) the run does
    # them again, as after a database restore. -v shows the one-off container's output in the task result.
    server(_apps(site)[0]).check_output("rm -f /etc/djangoops/polls/release-steps.sha256")
    deploy = StartedPlaybook("playbooks/deploy.yml", "-e", f"lab_app_version={NEXT}", "-v", "-e", "django_app_collectstatic=false",
                             inventories=site.inventories)
    waiting = f"SELECT count(*) FROM pg_locks WHERE {here} AND NOT granted"
    try:
        for _attempt in range(600):
            if _psql(site, waiting) == "1" or deploy.process.poll() is not None:
                break
            time.sleep(0.5)
        assert _psql(site, waiting) == "1", "the deploy never waited for the lock:\n" + deploy.printed()[-5000:]
    finally:
        # The other run finishes: its session ends, and the lock with it.
        _psql(site, f"SELECT pg_terminate_backend(pid) FROM pg_locks WHERE {here} AND granted")
    run = deploy.wait()
    assert run.returncode == 0, run.stdout
    assert "djangoops: waiting for the migration lock (another run is migrating)" in run.stdout
    assert "djangoops: holding the migration lock" in run.stdout
    assert _psql(site, held) == "0"


def test_a_release_failing_its_health_check_stops_at_the_first_server(site_client, site, start_version):
    first, *others = _apps(site)
    site_client.start_steady_load(site.proxy_addresses)
    run = _deploy(site, BROKEN, "-e", "django_app_healthcheck_timeout=6")  # it never serves: no need to wait long
    load = site_client.stop_load()
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert f"{first}: {_image(site, BROKEN)} did not serve" in output, output
    assert f"The rollout stops here: {first} stays out of the proxies' upstream" in output
    assert "Last container output:" in output
    # The other servers were never touched: they still run the previous release and serve every request.
    assert all(_running(name)[0].endswith(f":{NEXT}") for name in others)
    counts = load["counts"]
    print(f"failed release {BROKEN}: {counts.get('requests')} requests during the run, {counts.get('failed', 0)} failed; {counts}")
    assert counts.get("failed", 0) == 0, load["failures"]
    assert counts.get(f"version {BROKEN}", 0) == 0
    for proxy in site.proxies:
        assert f"server {site.private_name(first)}:8000 max_fails=3 fail_timeout=10s down;" in _upstream(proxy)


def test_a_rollback_after_the_failed_release_returns_to_the_last_good_one(site_client, site, start_version):
    first = _apps(site)[0]
    site_client.start_steady_load(site.proxy_addresses)
    run = _rollback(site, "-vvvv")
    load = site_client.stop_load()
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    # Not the release before 1.1.0: the first server's deploy of 1.2.0 stopped, 1.1.0 is the last that went live.
    said = " ".join(output.split())  # the callback wraps long messages
    assert f"Rolling back to {_image(site, NEXT)}, leaving {_image(site, BROKEN)} ({first} runs {_image(site, BROKEN)}," in said, \
        output[-5000:]
    for name in site.app_servers:
        assert _running(name)[0] == _image(site, NEXT), name
    for proxy in site.proxies:
        assert " down;" not in _upstream(proxy)
    assert load["counts"].get("failed", 0) == 0, load["failures"]
    # Even at -vvvv, with containers replaced and one-off containers run, no secret is printed.
    leaked = [name for name in SECRETS if site.secret(name) in output]
    assert leaked == [], f"secrets in the -vvvv output: {leaked}"


def test_an_env_file_change_shows_in_the_diff_with_secrets_masked(site, start_version):
    run = _deploy(site, NEXT, "--diff", "-e", '{"django_app_extra_env": {"DJANGOOPS_RELEASE_NOTE": "masked-diff-check"},'
                  ' "django_app_cpus": 0.5, "django_app_memory": "512m"}')
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    # The resource limits reached the containers (replaced one at a time, like any change).
    for name in site.app_servers:
        limits = server(name).check_output("docker inspect --format '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}' polls")
        assert limits == f"500000000 {512 * 1024 * 1024}", (name, limits)
    assert "+DJANGOOPS_RELEASE_NOTE=masked-diff-check" in output
    assert "DJANGO_SECRET_KEY=********" in output and "DATABASE_PASSWORD=********" in output
    # Public settings show in clear (the diff's context lines); Gunicorn trusts the addresses the app
    # server resolved the proxies' private names to.
    proxies = ",".join(proxy["private_address"] for proxy in site.proxies.values())
    assert f"FORWARDED_ALLOW_IPS={proxies}" in output
    leaked = [name for name in SECRETS if site.secret(name) in output]
    assert leaked == [], f"secrets in the diff: {leaked}"
    # The deploys replaced every container: each server holds only the images its history names (the release
    # that failed its health check, and any other release the history does not hold, are gone).
    repository = _image(site, NEXT).rsplit(":", 1)[0]
    for name in site.app_servers:
        history = set(yaml.safe_load(server(name).file("/etc/djangoops/polls/releases.yml").content_string))
        held = set(server(name).check_output("docker images --format '{{.Repository}}:{{.Tag}}' %s", repository).split())
        assert held == history == {_image(site, start_version), _image(site, NEXT)}, (name, held, history)
    # Back to the inventory's settings: the extra variable leaves the env file again.
    back = _deploy(site, NEXT, "--diff")
    assert back.returncode == 0, back.stdout + back.stderr
    # A removed key is masked too: nothing says its old value was not a secret.
    assert "-DJANGOOPS_RELEASE_NOTE=********" in back.stdout
    # The inventory sets no limits: no CPU limit, and the role's default memory limit (django_app_memory: 1g).
    for name in site.app_servers:
        assert server(name).check_output("docker inspect --format '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}' polls") \
            == f"0 {1024 ** 3}"


def test_rollback_returns_to_the_previous_release_even_when_run_twice(site_client, site, start_version):
    first, *others = _apps(site)
    site_client.start_steady_load(site.proxy_addresses)
    # A rollback that reached the first server only (as if interrupted): it is drained first, the others serve.
    partial = _rollback(site, "--limit", first)
    assert partial.returncode == 0, partial.stdout + partial.stderr
    assert _running(first)[0] == _image(site, start_version)
    assert all(_running(name)[0] == _image(site, NEXT) for name in others)
    # Run again on every server: the same release, from the others' longer history.
    run = _rollback(site)
    load = site_client.stop_load()
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"Rolling back to {_image(site, start_version)}, leaving {_image(site, NEXT)}" in run.stdout
    assert _recap(site, run)[first] == "0", run.stdout  # the first server had returned already
    for name in site.app_servers:
        assert _running(name)[0] == _image(site, start_version), name
    counts = load["counts"]
    print(f"rollback in two runs: {counts.get('requests')} requests, {counts.get('failed', 0)} failed; {counts}")
    assert counts.get("failed", 0) == 0, load["failures"]
    # The older release's static files are back, though the newer ones were uploaded later.
    assert _static(site_client, site, ".djangoops/static-release") == _marker(site, start_version)
    assert "djangoops lab release 1.1.0" not in _static(site_client, site, "polls/style.css")
    # Nothing left to roll back to.
    again = _rollback(site)
    assert again.returncode != 0
    assert "holds no release before the current one" in again.stdout + again.stderr


def test_after_three_deploys_and_a_prune_each_server_rolls_back_to_every_release_it_holds(site, start_version):
    """Three releases remembered (django_app_history_length=3) and three deploys in a row (1.1.0, 1.1.1,
    1.1.2: distinct images): each server holds the images of those three only (the start release's was
    pruned), and rollback.yml returns to each remembered release in turn, from the server's own images."""
    remembered = ("-e", "django_app_history_length=3", *RESTORE_ARGS)
    releases = [NEXT, "1.1.1", "1.1.2"]
    for version in releases:
        run = _deploy(site, version, *remembered)
        assert run.returncode == 0, run.stdout[-5000:] + run.stderr
    repository = _image(site, NEXT).rsplit(":", 1)[0]

    def held(name: str) -> set[str]:
        return set(server(name).check_output("docker images --format '{{.Repository}}:{{.Tag}}' %s", repository).split())

    for name in site.app_servers:
        history = yaml.safe_load(server(name).file("/etc/djangoops/polls/releases.yml").content_string)
        assert history == [_image(site, version) for version in releases], (name, history)
        assert held(name) == set(history), (name, held(name), history)
    # Back to each earlier release: its image was kept, so nothing is pulled.
    hosts = "|".join(re.escape(name) for name in site.app_servers)
    for version in reversed(releases[:-1]):
        back = _rollback(site, *remembered)
        assert back.returncode == 0, back.stdout[-5000:] + back.stderr
        assert re.search(rf"TASK \[djangoops\.fleet\.site : Pull the image where it is missing[^\n]*\n(?:(ok|skipping): \[(?:{hosts})\]\n)+\n",
                         back.stdout), back.stdout[-8000:]
        for name in site.app_servers:
            assert _running(name)[0] == _image(site, version), (name, version)
    # Nothing before the first remembered release: the pruned one is out of reach, as the history says.
    again = _rollback(site, *remembered)
    assert again.returncode != 0 and "holds no release before the current one" in again.stdout + again.stderr
