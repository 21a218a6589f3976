"""Start small, grow by inventory: a second site, small.djangoops.test, on new lab servers of its own.

One server that is both the proxy and the app server converges from a plain Docker host and serves the
site over HTTPS, its app ports closed to the public; a deploy of the next release on that lone app
server fails no request (the new release serves from a standby container on the second port while the
app's own container is replaced). Then two app servers and a second proxy join by inventory, in one
site.yml run, while a client keeps requesting the site: no request fails, and every app server serves.

The site has its own database and bucket on the lab's PostgreSQL and S3 server and its own DNS name (own_site.py);
test_releases.py releases on it once grown. Its servers, database and name are removed at the end of the session,
whatever happens."""

from __future__ import annotations

import re

import pytest

from conftest import fresh_lab_servers, open_ports, run_playbook, server
from own_site import GROWN_APPS, GROWN_PROXY, SITE, SOLO


pytestmark = pytest.mark.changes_lab

NEXT, BROKEN = "1.1.0", "1.2.0"


def _site_status(client, proxy: str) -> str:
    """Status and X-Served-By of the site's page through one proxy, over a verified certificate."""
    return client.run(f"curl -sS -o /dev/null -w '%{{http_code}}' --max-time 10 --cacert /lab/pki/pebble-production-root.pem"
                      f" --resolve {SITE}:443:{proxy} https://{SITE}/polls/").stdout


def _running_release(name: str) -> str:
    return server(name).check_output("docker inspect --format '{{.Config.Image}}' polls").rsplit(":", 1)[1]


def _load_counts(load: dict) -> dict:
    counts = load["counts"]
    print(f"{counts.get('requests')} requests in {load['seconds']} s, {counts.get('failed', 0)} failed: {counts}")
    return counts


def test_one_host_for_everything_serves_deploys_without_a_failed_request_and_grows_by_inventory(small_site, client, lab):
    release = lab.all_vars["lab_app_version"]
    small_site.grown = None  # started anew here
    solo_only = small_site.write([SOLO], [SOLO], release)
    fresh_lab_servers([SOLO.name], solo_only)

    # One host, both groups, from a plain Docker host: one site.yml run.
    converged = run_playbook("playbooks/site.yml", inventories=solo_only)
    assert converged.returncode == 0, converged.stdout[-8000:] + converged.stderr
    assert _site_status(client, SOLO.public) == "200"
    # The app port and the standby's are closed to the public; the proxy's own Nginx reaches the app.
    scanner = server("client")
    assert open_ports(scanner, [SOLO.public], "22,80,443,8000,8001") == {SOLO.public: [22, 80, 443]}
    upstream = server(SOLO.name).check_output("cat /etc/djangoops/nginx/conf.d/upstream.conf")
    assert f"server {SOLO.name}.{lab.all_vars['lab_private_zone']}:8000 " in upstream, upstream

    # A deploy on the lone app server: the standby on port 8001 serves while the app's container is replaced.
    # Each switch between them lets requests in flight finish for 15 s: a window long enough for 2,000
    # requests even while the other lane's playbooks take most of the 2 cores (about 30 requests a second then).
    client.start_load([SOLO.public], site=SITE)
    try:
        deployed = run_playbook("playbooks/deploy.yml", "-e", f"lab_app_version={NEXT}", "-e", "django_app_drain_seconds=15",
                                inventories=solo_only)
    finally:
        counts = _load_counts(client.stop_load())
    assert deployed.returncode == 0, deployed.stdout[-8000:] + deployed.stderr
    assert "TASK [djangoops.fleet.django_app : Ensure the app container runs the release image and settings (standby)]" in deployed.stdout
    assert counts.get("failed", 0) == 0, counts
    assert counts["requests"] >= 2000, counts
    assert counts.get(f"version {release}", 0) > 0 and counts.get(f"version {NEXT}", 0) > 0, counts
    assert _running_release(SOLO.name) == NEXT
    standby = server(SOLO.name).run("docker inspect polls-standby")
    assert standby.rc != 0, standby.stdout  # removed once the app's own container served again
    assert ":8000 " in server(SOLO.name).check_output("cat /etc/djangoops/nginx/conf.d/upstream.conf")

    # A release whose health check fails (Gunicorn on the wrong port) on the lone server: its standby never
    # serves and goes; the running release keeps serving throughout, and the run fails saying so.
    client.start_load([SOLO.public], site=SITE, workers=8, interval=0.5)
    try:
        broken = run_playbook("playbooks/deploy.yml", "-e", f"lab_app_version={BROKEN}", "-e", "django_app_healthcheck_timeout=6",
                              inventories=solo_only)
    finally:
        counts = _load_counts(client.stop_load())
    said = " ".join((broken.stdout + broken.stderr).split())
    assert broken.returncode != 0, said[-5000:]
    image = f"{lab.all_vars['lab_registry_address']}:5000/djangoops/polls:{BROKEN}"
    assert f"{SOLO.name}: {image} did not serve http://{SOLO.inventory()['private_address']}:8001/healthz/" in said, said[-5000:]
    assert f"{SOLO.name} keeps serving the release it ran" in said, said[-5000:]
    assert counts.get("failed", 0) == 0 and counts.get(f"version {NEXT}", 0) == counts["requests"] > 0, counts
    assert _running_release(SOLO.name) == NEXT
    assert server(SOLO.name).run("docker inspect polls-standby").rc != 0

    # Growing: two app servers and a second proxy in the inventory, one site.yml run, watched by a steady
    # load (the new servers' converge needs the lab's cores more than a flood of requests proves anything).
    grown = small_site.write([SOLO, *GROWN_APPS], [SOLO, GROWN_PROXY], NEXT)
    fresh_lab_servers([new.name for new in (*GROWN_APPS, GROWN_PROXY)], grown)
    client.start_load([SOLO.public], site=SITE, workers=8, interval=0.5)
    try:
        run = run_playbook("playbooks/site.yml", inventories=grown)
    finally:
        counts = _load_counts(client.stop_load())
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr
    assert counts.get("failed", 0) == 0, counts
    assert counts["requests"] >= 500, counts
    assert counts.get(f"version {NEXT}", 0) == counts["requests"], counts  # the release stayed
    for name in [SOLO.name, *(new.name for new in GROWN_APPS)]:
        assert _running_release(name) == NEXT
    # Each proxy sends to every app server, over a certificate both serve.
    for proxy in (SOLO, GROWN_PROXY):
        assert _site_status(client, proxy.public) == "200"
        served = set(re.findall(r"(?im)^x-served-by:\s*(\S+)", client.run(
            f"for i in $(seq 1 12); do curl -sS -o /dev/null -D - --max-time 10 --cacert /lab/pki/pebble-production-root.pem"
            f" --resolve {SITE}:443:{proxy.public} https://{SITE}/polls/; done").stdout))
        assert served == {SOLO.name, *(new.name for new in GROWN_APPS)}, (proxy.name, served)
    publics = [new.public for new in [SOLO, *GROWN_APPS]]
    assert open_ports(scanner, publics, "8000,8001") == dict.fromkeys(publics, [])
    small_site.grown = grown  # converged as grown: the releases on this site start from it
