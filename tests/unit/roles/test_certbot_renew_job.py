# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The renewal job every proxy runs: taking a peer's newer certificate, renewing in turn, alerting.

Lineages are real files laid out as Certbot lays them out; ssh, docker and the served-certificate check
are replaced by a recorder that answers as they would (a peer's export, a renewal writing a new version).
"""

from __future__ import annotations

import datetime
import http.server
import importlib.util
import io
import json
import os
import pathlib
import subprocess
import sys
import threading
import typing as t

import pytest

from ansible_collections.djangoops.fleet.tests.unit.plugins.module_utils._certbot.certificates import (
    DAY,
    NOW,
    make_ca,
    make_leaf,
    key_pem,
    pem,
)

ROOT = pathlib.Path(__file__).resolve().parents[3]
JOB = ROOT / "roles" / "certbot" / "files" / "djangoops_certbot_renew.py"
DOMAINS = ("polls.example.test",)
MINUTE = datetime.timedelta(minutes=1)


def _load_job():
    # On the proxy renewal.py sits beside the job; here it is the collection's module_utils file.
    sys.path.insert(0, str(ROOT / "plugins" / "module_utils" / "_certbot"))
    try:
        spec = importlib.util.spec_from_file_location("djangoops_certbot_renew", JOB)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    return module


job = _load_job()
CA = make_ca("Pebble Intermediate CA 7e57")


def _candidate(origin: str, *, not_before, not_after, serial: int, domains=DOMAINS, key=None):
    cert, cert_key = make_leaf(CA, domains=domains, not_before=not_before, not_after=not_after, serial=serial)
    files = {
        "cert": pem(cert).decode(), "chain": pem(CA.cert).decode(),
        "fullchain": (pem(cert) + pem(CA.cert)).decode(), "privkey": key_pem(key or cert_key).decode(),
    }
    return job.Candidate(origin, cert, files, "[renewalparams]\nauthenticator = webroot\n",
                         {"acme.example/directory/abc/private_key.json": "{}"})


class Proxy:
    """One proxy's job with its own config dir, its peers' exports and a record of the commands run."""

    def __init__(self, tmp_path: pathlib.Path, *, rank: int = 0, ranks: int = 2, webhook: str | None = None) -> None:
        self.dir = tmp_path
        self.exports: dict[str, str] = {}
        self.calls: list[list[str]] = []
        self.fail: set[str] = set()
        self.renewed_serial = 0xBEEF
        self.clock = NOW
        self.settings = {
            "host": "proxy-under-test", "cert_name": "polls", "domains": list(DOMAINS),
            "config_dir": str(tmp_path / "letsencrypt"), "work_dir": str(tmp_path / "work"),
            "image": "certbot/certbot:v5.8.0", "ca_bundle": None, "directory": "https://127.0.0.4:14000/dir",
            "ari": False, "fraction": 1 / 3, "short_lived_fraction": 0.5, "rank": rank, "ranks": ranks,
            "peers": [{"name": "peer1", "address": "10.0.0.1", "port": 22}],
            "sync_key": "/etc/djangoops/certsync/id_ed25519", "known_hosts": "/etc/djangoops/certsync/known_hosts",
            "sync_user": "djangoops-certsync", "bundle": str(tmp_path / "export" / "bundle.json"), "bundle_gid": None,
            "nginx_container": "nginx", "nginx_config": "/etc/nginx/nginx.conf", "served_check": ["served-check"],
            "verify_address": "127.0.0.1", "verify_port": 9, "server_name": DOMAINS[0],
            "metrics_file": str(tmp_path / "metrics" / "djangoops_certbot.prom"),
            "state_file": str(tmp_path / "state.json"), "webhook_url": webhook, "mounts": ["/var/www/html"],
        }
        self.out = io.StringIO()

    def run(self, argv, **_kwargs) -> subprocess.CompletedProcess:
        self.calls.append(list(argv))
        if argv[0] == "ssh":
            address = argv[-1].split("@", 1)[1]
            if address in self.fail:
                return subprocess.CompletedProcess(argv, 255, "", "ssh: connect to host %s port 22: No route to host" % address)
            return subprocess.CompletedProcess(argv, 0, self.exports.get(address, ""), "")
        if argv[:2] == ["docker", "inspect"]:
            return subprocess.CompletedProcess(argv, 0, "false\n" if "nginx-down" in self.fail else "true\n", "")
        if argv[:2] == ["docker", "run"]:
            if "certbot" in self.fail:
                return subprocess.CompletedProcess(argv, 1, "", "Challenge failed for domain polls.example.test")
            # What certbot renew does: a new version of the lineage.
            renewed = _candidate("certbot", not_before=self.clock, not_after=self.clock + 90 * DAY, serial=self.renewed_serial)
            job.install(renewed, self.settings["config_dir"], "polls")
        return subprocess.CompletedProcess(argv, 0, "served serial ok", "")

    def __call__(self, **kwargs) -> int:
        return job.Job(self.settings, run=self.run, now=lambda: self.clock, out=self.out)(**kwargs)

    def export_from_peer(self, candidate) -> None:
        self.exports["10.0.0.1"] = json.dumps(job.bundle_of(candidate, "polls", "peer1"))

    def local(self):
        return job.read_local(self.settings["config_dir"], "polls")

    def metrics(self) -> dict[str, str]:
        lines = pathlib.Path(self.settings["metrics_file"]).read_text().splitlines()
        return dict(line.rsplit(" ", 1) for line in lines if not line.startswith("#"))

    def commands(self, word: str) -> list[list[str]]:
        return [call for call in self.calls if word in call[:2]]


def test_a_proxy_without_a_certificate_takes_its_peers_and_lays_it_out_as_certbot_does(tmp_path):
    proxy = Proxy(tmp_path)
    peer = _candidate("peer1", not_before=NOW - DAY, not_after=NOW + 89 * DAY, serial=0xA1)
    proxy.export_from_peer(peer)

    assert proxy() == 0

    live = tmp_path / "letsencrypt" / "live" / "polls"
    assert os.readlink(live / "fullchain.pem") == "../../archive/polls/fullchain1.pem"
    assert (tmp_path / "letsencrypt" / "archive" / "polls" / "privkey1.pem").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "letsencrypt" / "renewal" / "polls.conf").read_text() == peer.renewal_conf
    assert proxy.local().leaf.serial_number == 0xA1
    assert "certificate adopted: serial a1 from peer1 (version 1)" in proxy.out.getvalue()
    # Adopted, so Nginx is tested, reloaded and checked; then it is exported for the peers in turn.
    assert proxy.commands("exec") and ["served-check"] in proxy.calls
    assert json.loads(pathlib.Path(proxy.settings["bundle"]).read_text())["files"] == peer.files
    assert proxy.commands("run") == []  # not due: nothing ordered


def test_an_older_or_unusable_peer_certificate_is_not_taken(tmp_path):
    proxy = Proxy(tmp_path)
    mine = _candidate("mine", not_before=NOW - DAY, not_after=NOW + 89 * DAY, serial=0xB1)
    job.install(mine, proxy.settings["config_dir"], "polls")
    for stale in (
        _candidate("peer1", not_before=NOW - 2 * DAY, not_after=NOW + 88 * DAY, serial=0xB0),
        _candidate("peer1", not_before=NOW, not_after=NOW + 90 * DAY, serial=0xB2, domains=("evil.example.test",)),
        _candidate("peer1", not_before=NOW, not_after=NOW + 90 * DAY, serial=0xB3,
                   key=make_leaf(CA)[1]),
    ):
        proxy.export_from_peer(stale)
        assert proxy() == 0
        assert proxy.local().leaf.serial_number == 0xB1
    said = proxy.out.getvalue()
    assert "peer peer1: not taken, its names (evil.example.test) are not the site's (polls.example.test)" in said
    assert "peer peer1: not taken, its private key does not match it" in said
    assert proxy.commands("exec") == []


def test_the_first_proxy_renews_when_due_and_a_standby_only_later(tmp_path):
    # A 10-minute certificate: the first proxy renews at 5 minutes, the standby (1 of 2) at 7.5.
    first, standby = Proxy(tmp_path / "first"), Proxy(tmp_path / "standby", rank=1)
    certificate = _candidate("ca", not_before=NOW, not_after=NOW + 10 * MINUTE, serial=0xC1)
    for proxy in (first, standby):
        job.install(certificate, proxy.settings["config_dir"], "polls")
        proxy.fail.add("10.0.0.1")  # each other's peer is down: no certificate to take
        proxy.clock = NOW + 6 * MINUTE
        assert proxy() == 0

    assert len(first.commands("run")) == 1
    run = first.commands("run")[0]
    assert run[run.index("certbot/certbot:v5.8.0") + 1:] == [
        "renew", "--non-interactive", "--cert-name", "polls", "--force-renewal", "--no-random-sleep-on-renew"]
    assert "-v" in run and "/var/www/html:/var/www/html" in run
    assert first.local().leaf.serial_number == 0xBEEF
    assert standby.commands("run") == []
    assert "not due until %s" % (NOW + 7.5 * MINUTE).isoformat() in standby.out.getvalue()
    assert standby.metrics()['djangoops_certbot_peer_reachable{peer="peer1"}'] == "0"

    # The first proxy is down past the standby's turn: the standby renews.
    standby.clock = NOW + 8 * MINUTE
    assert standby() == 0
    assert len(standby.commands("run")) == 1


def test_a_certificate_renewed_by_a_peer_is_taken_instead_of_ordering_again(tmp_path):
    standby = Proxy(tmp_path, rank=1)
    job.install(_candidate("ca", not_before=NOW, not_after=NOW + 10 * MINUTE, serial=0xD1),
                standby.settings["config_dir"], "polls")
    standby.export_from_peer(_candidate("peer1", not_before=NOW + 5 * MINUTE, not_after=NOW + 15 * MINUTE, serial=0xD2))
    standby.clock = NOW + 9 * MINUTE  # past its own turn for the old certificate

    assert standby() == 0

    assert standby.commands("run") == []
    assert standby.local().leaf.serial_number == 0xD2
    assert os.readlink(tmp_path / "letsencrypt" / "live" / "polls" / "cert.pem") == "../../archive/polls/cert2.pem"


class Webhook:
    def __init__(self) -> None:
        self.posts: list[dict] = []
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                hook.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: t.Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


def test_a_failed_renewal_exits_non_zero_posts_to_the_webhook_and_shows_in_the_metrics(tmp_path, webhook):
    proxy = Proxy(tmp_path, webhook=webhook.url)
    job.install(_candidate("ca", not_before=NOW - 80 * DAY, not_after=NOW + 10 * DAY, serial=0xE1),
                proxy.settings["config_dir"], "polls")
    proxy.fail.update({"10.0.0.1", "certbot"})

    assert proxy() == 1

    assert webhook.posts == [{
        "event": "certificate_renewal_failed", "host": "proxy-under-test", "cert_name": "polls",
        "error": "certbot renew failed (exit 1):\nChallenge failed for domain polls.example.test",
        "not_after": (NOW + 10 * DAY).isoformat(), "served_not_after": None,
    }]
    metrics = proxy.metrics()
    assert metrics['djangoops_certbot_renewal_last_run_success{cert_name="polls"}'] == "0.0"
    assert float(metrics['djangoops_certificate_not_after_timestamp_seconds{cert_name="polls"}']) == (NOW + 10 * DAY).timestamp()
    assert 'djangoops_certbot_renewal_last_success_timestamp_seconds{cert_name="polls"}' not in metrics

    proxy.fail.discard("certbot")
    assert proxy() == 0
    metrics = proxy.metrics()
    assert metrics['djangoops_certbot_renewal_last_run_success{cert_name="polls"}'] == "1.0"
    assert 'djangoops_certbot_renewal_last_success_timestamp_seconds{cert_name="polls"}' in metrics
    assert len(webhook.posts) == 1


def test_a_bundle_naming_files_outside_the_accounts_directory_is_refused():
    document = job.bundle_of(_candidate("peer1", not_before=NOW, not_after=NOW + DAY, serial=1), "polls", "peer1")
    document["accounts"] = {"../../../root/.ssh/authorized_keys": "ssh-ed25519 AAAA"}
    with pytest.raises(job.JobError, match="outside the accounts directory"):
        job.candidate_from_bundle(document, "polls", "peer1")
    document["accounts"] = {}
    with pytest.raises(job.JobError, match="exports lineage 'polls', not 'shop'"):
        job.candidate_from_bundle(document, "shop", "peer1")


def test_two_runs_at_once_take_turns(tmp_path):
    """The timer, playbooks/renew.yml and a run by hand can start the job together: the second waits for the
    first (which holds the lock here) instead of racing it for the lineage and Certbot's container name."""
    import fcntl
    import shutil

    for source in (JOB, JOB.parent / "djangoops_served_certificate.py",
                   ROOT / "plugins" / "module_utils" / "_certbot" / "renewal.py"):
        shutil.copy(source, tmp_path / source.name)  # laid out as on the proxy
    settings = Proxy(tmp_path).settings
    settings.update(peers=[], metrics_file=None, bundle=None, lock_file=str(tmp_path / "renew.lock"))
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    with open(tmp_path / "renew.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        waiting = subprocess.Popen([sys.executable, str(tmp_path / JOB.name), "--config", str(tmp_path / "settings.json")],
                                   stdout=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(timeout=1.5)
    assert waiting.wait(timeout=30) == 0
    assert waiting.stdout.read() == "no certificate here or at any reachable peer yet\n"


def test_during_a_converge_a_peer_that_does_not_answer_fails_the_run(tmp_path):
    proxy = Proxy(tmp_path)
    proxy.fail.add("10.0.0.1")
    assert proxy(sync_only=True) == 0  # a timer's run: the peer may be down
    assert proxy(sync_only=True, require_peers=["peer2"]) == 0  # another peer, absent from the run
    assert proxy(sync_only=True, require_peers=["peer1"]) == 1
    assert ("FAILED: peer peer1 did not answer over SSH as djangoops-certsync at 10.0.0.1; check that this proxy"
            " reaches it on port 22 and that its authorized_keys allow this proxy's address") in proxy.out.getvalue()


def test_a_run_that_only_takes_certificates_keeps_the_last_renewal_time_of_the_same_certificate(tmp_path):
    proxy = Proxy(tmp_path)
    job.install(_candidate("ca", not_before=NOW - DAY, not_after=NOW + 89 * DAY, serial=0xF1),
                proxy.settings["config_dir"], "polls")
    proxy.fail.add("10.0.0.1")
    key = 'djangoops_certificate_renew_at_timestamp_seconds{cert_name="polls"}'
    assert proxy() == 0
    assert float(proxy.metrics()[key]) == (NOW + 59 * DAY).timestamp()
    assert proxy(sync_only=True) == 0
    assert float(proxy.metrics()[key]) == (NOW + 59 * DAY).timestamp()
    # Another certificate: its time is not known until a run plans it.
    proxy.fail.discard("10.0.0.1")
    proxy.export_from_peer(_candidate("peer1", not_before=NOW, not_after=NOW + 90 * DAY, serial=0xF2))
    assert proxy(sync_only=True) == 0
    assert key not in proxy.metrics()


def test_a_missing_ca_bundle_fails_before_docker_mounts_a_directory_in_its_place(tmp_path):
    proxy = Proxy(tmp_path)
    proxy.settings["ca_bundle"] = str(tmp_path / "acme-ca.pem")
    job.install(_candidate("ca", not_before=NOW - 80 * DAY, not_after=NOW + 10 * DAY, serial=0x1F),
                proxy.settings["config_dir"], "polls")
    proxy.fail.add("10.0.0.1")
    assert proxy() == 1
    assert proxy.commands("run") == []
    assert "the ACME CA bundle %s is not a file on this proxy" % (tmp_path / "acme-ca.pem") in proxy.out.getvalue()


def test_a_certificate_taken_while_nginx_is_not_running_yet_is_no_failure(tmp_path):
    """Right after a boot the timer may run before Docker restarted Nginx, which reads the new certificate
    when it starts: nothing to reload, nothing to alert about."""
    proxy = Proxy(tmp_path)
    proxy.export_from_peer(_candidate("peer1", not_before=NOW - DAY, not_after=NOW + 89 * DAY, serial=0xA7))
    proxy.fail.add("nginx-down")
    assert proxy() == 0
    assert proxy.commands("exec") == [] and ["served-check"] not in proxy.calls
    assert "nginx (container nginx) is not running here: it serves the new certificate when it starts" in proxy.out.getvalue()


def test_a_standby_past_its_turn_leaves_the_renewal_to_a_proxy_before_it_that_is_up_and_well(tmp_path):
    """Every proxy past its turn at once (all were away past expiry, or the certificate name changed): the
    standby still waits for the issuer while the issuer answers, ran lately and did not fail; it renews when
    the issuer's last run failed, or when the issuer's job has not run for a day."""
    standby = Proxy(tmp_path, rank=1)
    expired = _candidate("ca", not_before=NOW - 10 * DAY, not_after=NOW - DAY, serial=0x2A)
    job.install(expired, standby.settings["config_dir"], "polls")

    def issuer_exports(*, failed: bool, at) -> None:
        standby.exports["10.0.0.1"] = json.dumps(job.bundle_of(expired, "polls", "peer1", failed=failed, at=at.timestamp()))

    issuer_exports(failed=False, at=NOW - MINUTE)
    assert standby() == 0
    assert standby.commands("run") == []
    assert "but peer1, before this proxy in the renewal order, answered and its last run did not fail" in standby.out.getvalue()

    issuer_exports(failed=True, at=NOW - MINUTE)
    assert standby() == 0
    assert len(standby.commands("run")) == 1

    standby.calls.clear()
    job.install(expired, standby.settings["config_dir"], "polls")
    issuer_exports(failed=False, at=NOW - 2 * DAY)  # the issuer's job stopped running
    assert standby() == 0
    assert len(standby.commands("run")) == 1


def test_the_export_says_how_the_last_run_went_also_without_a_certificate(tmp_path):
    proxy = Proxy(tmp_path)
    proxy.fail.add("10.0.0.1")
    assert proxy() == 0
    exported = json.loads(pathlib.Path(proxy.settings["bundle"]).read_text())
    assert exported == {"format": 1, "host": "proxy-under-test", "cert_name": "polls", "last_run_failed": False,
                        "last_run_at": NOW.timestamp()}


# The role's defaults (defaults/main.yml, as vars/main.yml passes them in the job's settings).
ROLE_CONTAINER = {
    "read_only": True,
    "tmpfs": ["/tmp:rw,noexec,nosuid,nodev,size=16m", "/var/log/letsencrypt:rw,noexec,nosuid,nodev,size=16m"],
    "cap_drop": ["ALL"], "cap_add": [], "no_new_privileges": True, "pids_limit": 128, "memory": "256m",
}


def test_the_renewal_runs_certbot_in_a_hardened_container(tmp_path):
    proxy = Proxy(tmp_path)
    proxy.settings["container"] = ROLE_CONTAINER
    job.install(_candidate("ca", not_before=NOW, not_after=NOW + 10 * MINUTE, serial=0xC1), proxy.settings["config_dir"], "polls")
    proxy.fail.add("10.0.0.1")
    proxy.clock = NOW + 6 * MINUTE
    assert proxy() == 0
    (run,) = proxy.commands("run")
    assert run[run.index("djangoops-certbot-renew") + 1:run.index("-v")] == [
        "--read-only",
        "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=16m",
        "--tmpfs", "/var/log/letsencrypt:rw,noexec,nosuid,nodev,size=16m",
        "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
        "--pids-limit", "128",
        "--memory", "256m",
    ]


@pytest.mark.parametrize("container, standalone", [
    (ROLE_CONTAINER, False),
    (ROLE_CONTAINER, True),
    (dict(ROLE_CONTAINER, read_only=False, tmpfs=[], cap_drop=[], no_new_privileges=False, pids_limit=0, memory=""), True),
    (dict(ROLE_CONTAINER, cap_add=["NET_BIND_SERVICE"], memory="0", pids_limit=64), True),
])
def test_the_job_confines_certbot_as_the_module_does(container, standalone):
    from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.command import ContainerSecurity, security_args

    security = ContainerSecurity(**{key: tuple(value) if isinstance(value, list) else value for key, value in container.items()})
    assert job.container_args(container, publishes_port_80=standalone) == security_args(security, publishes_port_80=standalone)


def test_settings_written_before_the_container_setting_run_certbot_as_before():
    assert job.container_args(None) == []
