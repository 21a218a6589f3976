"""Runs that heal: a rollout interrupted at each point the README names (after the replace, during the
health check, after the drain, a proxy unreachable while draining), under load from the client. The
site keeps serving, and the next deploy.yml, rollback.yml or site.yml puts every server that serves
back into every upstream without failing a request, checked on each proxy."""

from __future__ import annotations

import json
import time

import pytest
import testinfra

from conftest import StartedPlaybook, drained_in, restore_release, run_playbook, server, unapply_next_release_migration


pytestmark = pytest.mark.changes_lab

NEXT = "1.1.0"
LOCK = "/var/lib/djangoops/fleet.lock"  # site_lock_path on site_lock_host, the first proxy
UPSTREAM = "/etc/djangoops/nginx/conf.d/upstream.conf"
ROLLOUT_PLAY = "PLAY [Release | replace the app containers batch by batch]"
# What the first batch (app1) prints, in order, once the rollout play began.
DRAIN = "TASK [djangoops.fleet.nginx_proxy : Mark the servers in every proxy's upstream (and reload its Nginx) as drained]"
IN_FLIGHT = "TASK [djangoops.fleet.nginx_proxy : Let the requests in flight finish]"
HEALTH_CHECK = "TASK [djangoops.fleet.django_app : Wait until the app serves /healthz/]"  # the lab inventory's path
RECORDED = "TASK [djangoops.fleet.django_app : Record the release in the history]"
# On proxy2: its SSH answered by a reset, as when its network or sshd goes away.
SSH_BLOCK = "INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset"


def _image(name: str) -> str:
    return server(name).check_output("docker inspect --format '{{.Config.Image}}' polls")


def _started(name: str) -> str:
    return server(name).check_output("docker inspect --format '{{.State.StartedAt}}' polls")


def _version(name: str) -> str:
    return _image(name).rsplit(":", 1)[1]


def _at(lab, version: str) -> None:
    """The app servers run this release (deployed only when one does not)."""
    if any(_version(name) != version for name in lab.app_servers):
        restore_release("-e", f"lab_app_version={version}")


def _drained(lab) -> dict[str, list[str]]:
    """Per proxy, the app servers its live upstream marks down."""
    return {proxy: sorted(drained_in(server(proxy).file(UPSTREAM).content_string)) for proxy in lab.proxies}


def _healed(client, lab, run, version: str) -> None:
    """The healing run succeeded under the load started before the interruption: no request failed, every
    app server runs the release and is in every proxy's upstream, and each proxy sends requests to each."""
    load = client.stop_load()
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr
    counts = load["counts"]
    print(f"interrupted and healed: {counts.get('requests')} requests, {counts.get('failed', 0)} failed; {counts}")
    assert counts.get("failed", 0) == 0, load["failures"]
    assert counts["requests"] >= 200, counts
    assert {name: _version(name) for name in lab.app_servers} == dict.fromkeys(lab.app_servers, version)
    assert _drained(lab) == {proxy: [] for proxy in lab.proxies}
    for proxy in lab.proxy_addresses:
        assert set(client.served_by(8, proxy)) == set(lab.app_servers), proxy


@pytest.fixture(scope="module")
def releases(lab):
    """Start on the inventory's release, with the next release's migration not applied; end there too."""
    version = lab.all_vars["lab_app_version"]
    unapply_next_release_migration(lab)
    _at(lab, version)
    yield version
    _at(lab, version)
    unapply_next_release_migration(lab)


def test_killed_after_the_replace_the_next_deploy_puts_the_server_back_first(client, lab, releases):
    _at(lab, releases)
    client.start_steady_load(lab.proxy_addresses)
    deploy = StartedPlaybook("playbooks/deploy.yml", "-e", f"lab_app_version={NEXT}")
    # app1 runs the new release and serves, still drained: the state in which the rerun used to replace
    # app2 in place (app1 current, so not in the rollout; app2 the only server left to drain).
    deploy.kill_when(ROLLOUT_PLAY, RECORDED)
    holder = json.loads(server("proxy1").check_output(f"cat {LOCK}"))
    assert _version("app1") == NEXT and _version("app2") == releases
    assert _drained(lab) == {proxy: ["app1"] for proxy in lab.proxies}
    app1_started = _started("app1")
    time.sleep(3)  # the site serves meanwhile, through app2 (counted by the load)

    started = time.monotonic()
    run = run_playbook("playbooks/deploy.yml", "-e", f"lab_app_version={NEXT}")
    said = " ".join((run.stdout + run.stderr).split())
    # The killed run's lock is broken at once, not after its lease: its process is gone from this controller.
    assert f"(process {holder['pid']}, run {holder['run_id']})" in said and "is gone from this controller" in said, said
    assert time.monotonic() - started < 300
    _healed(client, lab, run, NEXT)
    # app1 went back before app2 was drained, and only app2 was replaced.
    assert run.stdout.index("as active]") < run.stdout.index(DRAIN), run.stdout
    assert run.stdout.count(HEALTH_CHECK) == 1 and _started("app1") == app1_started


def test_killed_during_the_health_check_a_rollback_heals(client, lab, releases):
    _at(lab, NEXT)
    client.start_steady_load(lab.proxy_addresses)
    deploy = StartedPlaybook("playbooks/deploy.yml", "-e", f"lab_app_version={releases}")
    # app1's new container is starting, drained; no history records it yet.
    deploy.kill_when(ROLLOUT_PLAY, HEALTH_CHECK)
    assert _drained(lab) == {proxy: ["app1"] for proxy in lab.proxies}
    run = run_playbook("playbooks/rollback.yml")
    said = " ".join(run.stdout.split())
    assert "Rolling back to" in said and f"polls:{releases}, leaving" in said, said[-3000:]
    _healed(client, lab, run, releases)


def test_killed_after_the_drain_the_next_site_run_heals(client, lab, releases):
    _at(lab, releases)
    client.start_steady_load(lab.proxy_addresses)
    # The drain's wait for requests in flight is long enough to be killed in.
    deploy = StartedPlaybook("playbooks/deploy.yml", "-e", f"lab_app_version={NEXT}", "-e", "django_app_drain_seconds=30")
    deploy.kill_when(ROLLOUT_PLAY, IN_FLIGHT)
    assert _drained(lab) == {proxy: ["app1"] for proxy in lab.proxies}
    assert _version("app1") == releases  # drained, not replaced yet
    run = run_playbook("playbooks/site.yml")
    _healed(client, lab, run, releases)
    assert HEALTH_CHECK not in run.stdout  # nothing was replaced: app1 runs the release, and went back


def test_a_proxy_unreachable_while_draining_stops_the_rollout_and_the_next_deploy_heals(client, lab, releases):
    _at(lab, releases)
    app2_started = _started("app2")
    proxy2 = testinfra.get_host("docker://djangoops-lab-proxy2")
    client.start_steady_load(lab.proxy_addresses)
    deploy = StartedPlaybook("playbooks/deploy.yml", "-e", f"lab_app_version={NEXT}", "-e", "django_app_drain_seconds=20")
    try:
        deploy.wait_until(ROLLOUT_PLAY, DRAIN)
        proxy2.check_output(f"iptables -I {SSH_BLOCK}")
        deploy.wait_until("UNREACHABLE!", timeout=180)
    except BaseException:
        deploy.kill()
        raise
    finally:
        proxy2.run(f"iptables -D {SSH_BLOCK}")
    failed = deploy.wait()
    said = " ".join(failed.stdout.split())
    assert failed.returncode != 0, said[-3000:]
    # ansible-core goes on with the next batch after an unreachable host; the rollout does not.
    assert "The rollout stops before app2: app1 of an earlier batch failed or became unreachable" in said, said[-5000:]
    assert _started("app2") == app2_started
    run = run_playbook("playbooks/deploy.yml")
    _healed(client, lab, run, releases)
