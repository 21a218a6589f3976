"""The second site, small.djangoops.test, on lab servers of its own: its own database and bucket on the lab's
PostgreSQL and S3 server, its own DNS name and fleet lock (its first proxy), the lab's group_vars otherwise.

test_start_small.py starts it on one host and grows it by inventory to three app servers (one of them also the
first proxy) and two proxies; test_maintenance.py then switches maintenance mode on and off there, test_releases.py
releases on the grown site, test_manage.py runs management commands there, test_processes.py its workers and
scheduler, and test_build.py builds a release from git there (fixture `site`). All run in the second lane, beside
the main sequence; whichever needs the grown site first and finds none converges it. The session removes its servers, name and database at its end (the
`small_site` fixture in conftest.py)."""

from __future__ import annotations

import dataclasses
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import dns.update
import yaml

from conftest import PROJECT, Lab, dns_update, fresh_lab_servers, lab_from, remove_lab_servers, run_playbook, server


SITE = "small.djangoops.test"
DATABASE = "small"
BUCKET = "small-static"


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


def postgres(sql: str) -> None:
    server("postgres").check_output("su postgres -c %s", f'psql -v ON_ERROR_STOP=1 -c "{sql}"')


class SmallSite:
    """The second site's inventory (a directory: the lab's group_vars, and this site's own on top), as a
    user grows it: one host first, then more. `grown` holds the grown site's inventory once a site.yml run
    converged it, until a check starts it anew."""

    def __init__(self, lab: Lab, folder: Path) -> None:
        self.lab, self.folder = lab, folder
        self.grown: tuple[str, ...] | None = None
        (folder / "group_vars").mkdir(parents=True)
        for name in ("all", "lab_servers.yml"):
            (folder / "group_vars" / name).symlink_to(PROJECT / "inventories" / "lab" / "group_vars" / name)

    def create(self) -> None:
        """The site's database, bucket and name (pointing at its first server)."""
        postgres(f"DROP DATABASE IF EXISTS {DATABASE}")
        postgres(f"CREATE DATABASE {DATABASE} OWNER {self.lab.all_vars['django_app_database_user']}")
        self._create_bucket()
        self.point_at([SOLO])

    def remove(self) -> None:
        remove_lab_servers([new.name for new in EVERY_SERVER])
        dns_update(self.lab, lambda update: update.delete(f"{SITE}."))
        postgres(f"DROP DATABASE IF EXISTS {DATABASE}")

    def write(self, apps: list[NewServer], proxies: list[NewServer], release: str, settings: dict | None = None) -> tuple[str, ...]:
        """The inventory of this site's servers, with ``settings`` on top of the site's own."""
        site = {"site_server_names": [SITE], "certbot_email": f"admin@{SITE}", "django_app_admin_email": f"admin@{SITE}",
                "django_app_database_name": DATABASE, "django_app_static_bucket_name": BUCKET, "lab_app_version": release,
                # Its secrets stay in the env file, the way an app that reads only its environment needs them (the
                # role's default; test_releases.py checks their masked diff): the main site has them as files.
                "django_app_secret_files": False,
                **(settings or {})}
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

    def grown_site(self) -> Lab:
        """The grown site, its inventory naming the lab's release (whichever it runs), converged on fresh
        servers first where no check left it converged."""
        grown = self.write([SOLO, *GROWN_APPS], [SOLO, GROWN_PROXY], self.lab.all_vars["lab_app_version"])
        if self.grown is None:
            fresh_lab_servers([new.name for new in EVERY_SERVER], grown)
            converged = run_playbook("playbooks/site.yml", inventories=grown)
            assert converged.returncode == 0, converged.stdout[-8000:] + converged.stderr
            self.grown = grown
        return lab_from(grown, domain=SITE, database=DATABASE)

    def point_at(self, servers: list[NewServer]) -> None:
        def build(update: dns.update.UpdateMessage) -> None:
            update.delete(f"{SITE}.")
            for new in servers:
                update.add(f"{SITE}.", 60, "A", new.public)
                update.add(f"{SITE}.", 60, "AAAA", new.inventory()["public_ipv6"])

        dns_update(self.lab, build)

    def _create_bucket(self) -> None:
        """The site's own bucket, readable by anyone (as tests/lab/up.yml makes the lab's)."""
        context = ssl.create_default_context(cafile=str(self.lab.state_dir / "pki" / "lab-ca.pem"))
        policy = {"Version": "2012-10-17", "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                                                         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}
        for url, body in ((f"{self.lab.s3_endpoint}/{BUCKET}", None),
                          (f"{self.lab.s3_endpoint}/{BUCKET}?policy", json.dumps(policy).encode())):
            try:
                # A JSON body (urllib's default type, a form, would leave moto an empty policy).
                request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "application/json"})
                urllib.request.urlopen(request, context=context, timeout=10)
            except urllib.error.HTTPError as error:
                assert error.code == 409, (url, error)  # the bucket is there already (an earlier run)
