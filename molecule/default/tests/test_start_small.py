"""Start small, grow by inventory: a second site, small.djangoops.test, on new lab servers of its own.

One server that is both the proxy and the app server converges from a plain Docker host and serves the
site over HTTPS, its app ports closed to the public; a deploy of the next release on that lone app
server fails no request (the new release serves from a standby container on the second port while the
app's own container is replaced). Then two app servers and a second proxy join by inventory, in one
site.yml run, while a client keeps requesting the site: no request fails, and every app server serves.

The site has its own database and bucket on the lab's PostgreSQL and S3 server and its own DNS name; its
servers, database and name are removed afterwards, whatever happens."""

from __future__ import annotations

import dataclasses
import json
import re
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import dns.update
import pytest
import yaml

from conftest import PROJECT, dns_update, fresh_lab_servers, open_ports, remove_lab_servers, run_playbook, server


pytestmark = pytest.mark.changes_lab

SITE = "small.djangoops.test"
DATABASE = "small"
BUCKET = "small-static"
NEXT, BROKEN = "1.1.0", "1.2.0"


@dataclasses.dataclass(frozen=True)
class NewServer:
    name: str
    number: int  # the last byte of each of its addresses

    @property
    def public(self) -> str:
        return f"198.51.100.{self.number}"

    def inventory(self) -> dict:
        return {"ansible_host": self.public, "private_address": f"10.87.0.{self.number}",
                "public_ipv6": f"2001:db8:100::{self.number}", "private_ipv6": f"fd00:87::{self.number}"}


SOLO = NewServer("solo", 15)
GROWN_APPS = [NewServer("solo-app2", 16), NewServer("solo-app3", 17)]
GROWN_PROXY = NewServer("solo-proxy2", 18)
EVERY_SERVER = [SOLO, *GROWN_APPS, GROWN_PROXY]


class SmallSite:
    """The second site's inventory (a directory: the lab's group_vars, and this site's own on top), as a
    user grows it: one host first, then more."""

    def __init__(self, lab, folder: Path) -> None:
        self.lab, self.folder = lab, folder
        (folder / "group_vars").mkdir(parents=True)
        for name in ("all", "lab_servers.yml"):
            (folder / "group_vars" / name).symlink_to(PROJECT / "inventories" / "lab" / "group_vars" / name)

    def write(self, apps: list[NewServer], proxies: list[NewServer], release: str) -> tuple[str, ...]:
        site = {"site_server_names": [SITE], "certbot_email": f"admin@{SITE}", "django_app_admin_email": f"admin@{SITE}",
                "django_app_database_name": DATABASE, "django_app_static_bucket_name": BUCKET, "lab_app_version": release}
        # The group of every server of this site: its settings override the lab's group_vars/all.
        (self.folder / "group_vars" / "small_site.yml").write_text(yaml.safe_dump(site))
        hosts = {server.name: server.inventory() for server in {*apps, *proxies}}
        inventory = {"all": {"children": {
            "lab_servers": {"children": {"django_app": {}, "nginx_proxy": {}}},
            "small_site": {"children": {"django_app": {}, "nginx_proxy": {}}},
            "django_app": {"hosts": {server.name: hosts[server.name] for server in apps}},
            "nginx_proxy": {"hosts": {server.name: hosts[server.name] for server in proxies}},
        }}}
        (self.folder / "hosts.yml").write_text(yaml.safe_dump(inventory))
        return (str(self.folder),)


def _point_site_at(lab, servers: list[NewServer]) -> None:
    def build(update: dns.update.UpdateMessage) -> None:
        update.delete(f"{SITE}.")
        for new in servers:
            update.add(f"{SITE}.", 60, "A", new.public)
            update.add(f"{SITE}.", 60, "AAAA", new.inventory()["public_ipv6"])

    dns_update(lab, build)


def _create_bucket(lab) -> None:
    """The site's own bucket, readable by anyone (as tests/lab/up.yml makes the lab's)."""
    context = ssl.create_default_context(cafile=str(lab.state_dir / "pki" / "lab-ca.pem"))
    policy = {"Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                                                     "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}
    for url, body in ((f"{lab.s3_endpoint}/{BUCKET}", None), (f"{lab.s3_endpoint}/{BUCKET}?policy", json.dumps(policy).encode())):
        try:
            # A JSON body (urllib's default type, a form, would leave moto an empty policy).
            request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "application/json"})
            urllib.request.urlopen(request, context=context, timeout=10)
        except urllib.error.HTTPError as error:
            assert error.code == 409, (url, error)  # the bucket is there already (an earlier run)


def _postgres(sql: str) -> None:
    server("postgres").check_output("su postgres -c %s", f'psql -v ON_ERROR_STOP=1 -c "{sql}"')


@pytest.fixture(scope="module")
def small_site(lab, tmp_path_factory):
    site = SmallSite(lab, tmp_path_factory.mktemp("small-site"))
    _postgres(f"DROP DATABASE IF EXISTS {DATABASE}")
    _postgres(f"CREATE DATABASE {DATABASE} OWNER {lab.all_vars['django_app_database_user']}")
    _create_bucket(lab)
    _point_site_at(lab, [SOLO])
    try:
        yield site
    finally:
        remove_lab_servers([new.name for new in EVERY_SERVER])
        dns_update(lab, lambda update: update.delete(f"{SITE}."))
        _postgres(f"DROP DATABASE IF EXISTS {DATABASE}")


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
    client.start_load([SOLO.public], site=SITE)
    try:
        deployed = run_playbook("playbooks/deploy.yml", "-e", f"lab_app_version={NEXT}", inventories=solo_only)
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
