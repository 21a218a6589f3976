# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run the certbot_certificate module for real, with a fake ``docker`` first on PATH.

The fake records its argv and, for ``certonly``, writes a certificate and key made here into the
config directory mounted at /etc/letsencrypt, as the certbot container would.
"""

from __future__ import annotations

import datetime
import http.server
import json
import os
import subprocess
import sys
import threading
import typing as t

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


MODULE = "ansible_collections.djangoops.fleet.plugins.modules.certbot_certificate"
# Loopback addresses where nothing listens: a directory read by the module is refused at once.
STAGING_URL = "https://127.0.0.2:14000/dir"
PRODUCTION_URL = "https://127.0.0.3:14000/dir"
DOMAINS = ("shop.example.test", "www.shop.example.test")
STAGING_CA = "(STAGING) Pretend Pear X1"
PRODUCTION_CA = "Pebble Intermediate CA abc123"
# The module reads the real clock, so certificates are dated around it.
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)

DNS_FAILURE = (
    "Saving debug log to /var/log/letsencrypt/letsencrypt.log\n"
    "Requesting a certificate for shop.example.test and www.shop.example.test\n"
    "\n"
    "Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority "
    "reported these problems:\n"
    "  Domain: www.shop.example.test\n"
    "  Type:   dns\n"
    "  Detail: DNS problem: NXDOMAIN looking up A for www.shop.example.test - check that a DNS record "
    "exists for this domain\n"
    "\n"
    "Some challenges have failed.\n"
    "Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile "
    "/var/log/letsencrypt/letsencrypt.log or re-run Certbot with -v for more details.\n"
)

RATE_LIMITED = (
    "An unexpected error occurred:\n"
    "Error creating new order :: too many certificates (5) already issued for this exact set of "
    "identifiers in the last 168h0m0s, retry after 2026-11-26 18:18:07 UTC: see "
    "https://letsencrypt.org/docs/rate-limits/\n"
)


def _ca(cn: str) -> tuple[t.Any, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 365 * DAY)
        .not_valid_after(NOW + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def write_material(
    directory: str,
    ca_cn: str,
    *,
    serial: int,
    domains: t.Sequence[str] = DOMAINS,
    not_before: datetime.datetime = NOW - DAY,
    not_after: datetime.datetime = NOW + 89 * DAY,
    authority_key_id: bool = False,
) -> str:
    """Write fullchain.pem and privkey.pem for a leaf issued by a CA named ``ca_cn``."""
    ca_key, ca_cert = _ca(ca_cn)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), critical=False)
    )
    if authority_key_id:  # what ARI names a certificate by; every public CA sets it
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "fullchain.pem"), "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(directory, "privkey.pem"), "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return directory


FAKE_DOCKER = """\
#!{python}
import json, os, shutil, sys

with open({config!r}) as handle:
    config = json.load(handle)
argv = sys.argv[1:]
with open(config["log"], "a") as log:
    log.write(json.dumps(argv) + "\\n")
server = argv[argv.index("--server") + 1]
if server in config["fail"]:
    sys.stderr.write(config["fail"][server])
    sys.exit(1)
mount = next(argv[i + 1] for i, arg in enumerate(argv) if arg == "-v" and argv[i + 1].endswith(":/etc/letsencrypt"))
config_dir = mount.rsplit(":", 1)[0]
name = argv[argv.index("--cert-name") + 1]
live = os.path.join(config_dir, "live", name)
os.makedirs(live, exist_ok=True)
for filename in ("fullchain.pem", "privkey.pem"):
    shutil.copy(os.path.join(config["issue"][server], filename), os.path.join(live, filename))
os.makedirs(os.path.join(config_dir, "renewal"), exist_ok=True)
with open(os.path.join(config_dir, "renewal", name + ".conf"), "w") as handle:
    handle.write("server = %s\\n" % server)
print("Successfully received certificate.")
"""


class Lab:
    """A host for the module: fake docker on PATH, a webroot, certbot state under tmp_path."""

    def __init__(self, tmp_path, collections_root) -> None:
        self.tmp_path = tmp_path
        self.collections_root = collections_root
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.log = tmp_path / "docker-calls.jsonl"
        self.config_dir = tmp_path / "letsencrypt"
        self.webroot = tmp_path / "www"
        self.webroot.mkdir()
        self.config = {
            "log": str(self.log),
            "fail": {},
            "issue": {
                STAGING_URL: write_material(str(tmp_path / "issue-staging"), STAGING_CA, serial=0x5747),
                PRODUCTION_URL: write_material(str(tmp_path / "issue-production"), PRODUCTION_CA, serial=0x9D0D),
            },
        }
        self.config_file = tmp_path / "fake-docker.json"
        self._save()
        docker = self.bin / "docker"
        docker.write_text(FAKE_DOCKER.format(python=sys.executable, config=str(self.config_file)))
        docker.chmod(0o755)

    def _save(self) -> None:
        self.config_file.write_text(json.dumps(self.config))

    def fail(self, server: str, output: str) -> None:
        self.config["fail"][server] = output
        self._save()

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def servers(self) -> list[str]:
        return [call[call.index("--server") + 1] for call in self.calls()]

    def run(self, *, check_mode: bool = False, diff: bool = False, **overrides: t.Any) -> tuple[int, dict]:
        args = {
            "domains": list(DOMAINS),
            "cert_name": "shop",
            "email": "ops@example.test",
            "staging_directory": STAGING_URL,
            "production_directory": PRODUCTION_URL,
            "config_dir": str(self.config_dir),
            "work_dir": str(self.tmp_path / "work"),
            "webroot": str(self.webroot),
            "lock_file": str(self.tmp_path / "renew.lock"),
            "_ansible_check_mode": check_mode,
            "_ansible_diff": diff,
        }
        args.update(overrides)
        env = dict(os.environ)
        env["PATH"] = "%s%s%s" % (self.bin, os.pathsep, env.get("PATH", ""))
        # The collection first; keep what the environment adds: ansible-test puts the ansible-core
        # under test there (only its module_utils, in the module test context) when the
        # interpreter has none installed.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.collections_root), env.get("PYTHONPATH")]))
        process = subprocess.run(
            [sys.executable, "-m", MODULE],
            input=json.dumps({"ANSIBLE_MODULE_ARGS": args}),
            capture_output=True,
            text=True,
            env=env,
            cwd=str(self.tmp_path),
            check=False,
            timeout=120,
        )
        try:
            return process.returncode, json.loads(process.stdout)
        except ValueError:
            pytest.fail("module printed no JSON: rc=%s\nstdout=%s\nstderr=%s" % (
                process.returncode, process.stdout, process.stderr))
            raise


@pytest.fixture
def lab(tmp_path, collections_root) -> Lab:
    return Lab(tmp_path, collections_root)


def _mount(call: list[str], target: str) -> str:
    return next(call[i + 1] for i, arg in enumerate(call) if arg == "-v" and call[i + 1].endswith(":" + target))


def test_first_run_issues_staging_then_production(lab):
    rc, result = lab.run()

    assert rc == 0, result
    assert lab.servers() == [STAGING_URL, PRODUCTION_URL]
    staging_call, production_call = lab.calls()
    assert _mount(staging_call, "/etc/letsencrypt") == "%s-staging:/etc/letsencrypt" % lab.config_dir
    assert _mount(production_call, "/etc/letsencrypt") == "%s:/etc/letsencrypt" % lab.config_dir
    assert "--force-renewal" not in staging_call and "--force-renewal" not in production_call
    assert result["changed"] is True
    assert result["stage"] == "issued"
    assert result["reason"] == "no certificate"
    assert result["issuer"] == "CN=Pebble Intermediate CA abc123"
    assert result["serial"] == "9d0d"
    assert result["not_after"] == (NOW + 89 * DAY).isoformat()
    assert result["domains"] == list(DOMAINS)
    assert result["staging"] == {"issuer": "CN=(STAGING) Pretend Pear X1", "serial": "5747"}
    assert result["fullchain"] == str(lab.config_dir / "live" / "shop" / "fullchain.pem")
    assert result["privkey"] == str(lab.config_dir / "live" / "shop" / "privkey.pem")
    # The fake logs its arguments without argv[0], which must be the fake itself.
    assert [command[0] for command in result["commands"]] == [str(lab.bin / "docker")] * 2
    assert [command[1:] for command in result["commands"]] == lab.calls()


def test_second_run_is_unchanged_without_docker(lab):
    lab.run()
    calls_after_first = lab.calls()

    rc, result = lab.run()

    assert rc == 0, result
    assert lab.calls() == calls_after_first
    assert result["changed"] is False
    assert result["stage"] == "unchanged"
    assert result["reason"].startswith("certificate is valid until %s" % (NOW + 89 * DAY).isoformat())
    assert result["serial"] == "9d0d"
    assert result["staging"] is None
    assert result["commands"] == []


def test_staging_failure_never_contacts_production(lab):
    lab.fail(STAGING_URL, DNS_FAILURE)

    rc, result = lab.run()

    assert rc == 1
    assert result["failed"] is True
    assert result["stage"] == "staging"
    assert result["reason"] == "DNS for www.shop.example.test does not point here"
    assert result["msg"] == "staging certificate request failed: DNS for www.shop.example.test does not point here"
    assert result["output_tail"][-1].startswith("Ask for help or search for solutions")
    assert lab.servers() == [STAGING_URL]
    assert not (lab.config_dir / "live").exists()


def test_production_failure_is_reported_as_production(lab):
    lab.fail(PRODUCTION_URL, RATE_LIMITED)

    rc, result = lab.run()

    assert rc == 1
    assert result["stage"] == "production"
    assert result["reason"] == "rate limited; retry after 2026-11-26 18:18:07 UTC"
    assert lab.servers() == [STAGING_URL, PRODUCTION_URL]


def test_check_mode_runs_nothing_and_reports_the_plan(lab):
    rc, result = lab.run(check_mode=True, diff=True)

    assert rc == 0, result
    assert lab.calls() == []
    assert not (lab.config_dir).exists()
    assert result["changed"] is True
    assert result["stage"] == "issued"
    assert [call[call.index("--server") + 1] for call in result["commands"]] == [STAGING_URL, PRODUCTION_URL]
    assert result["commands"][0][0] == str(lab.bin / "docker")
    assert result["diff"] == {
        "before": {},
        "after": {
            "serial": None,
            "issuer": "(to be issued by %s)" % PRODUCTION_URL,
            "not_after": None,
            "domains": list(DOMAINS),
        },
    }


def test_check_mode_after_issuance_reports_no_change(lab):
    lab.run()
    rc, result = lab.run(check_mode=True)
    assert rc == 0, result
    assert result["changed"] is False
    assert len(lab.calls()) == 2


def test_renewal_due_renews_with_force_renewal_and_diff(lab):
    lab.run()
    # Replace the production certificate by one with 10 of 90 days left.
    write_material(
        str(lab.config_dir / "live" / "shop"), PRODUCTION_CA, serial=0x01D,
        not_before=NOW - 80 * DAY, not_after=NOW + 10 * DAY,
    )

    rc, result = lab.run(diff=True)

    assert rc == 0, result
    assert result["changed"] is True
    assert result["stage"] == "renewed"
    assert result["reason"] == (
        "renewal due (expires %s; due from %s, the certificate has no authority key identifier for ARI;"
        " by the certificate's lifetime)" % ((NOW + 10 * DAY).isoformat(), (NOW - 20 * DAY).isoformat())
    )
    assert lab.servers() == [STAGING_URL, PRODUCTION_URL] * 2
    assert all("--force-renewal" in call for call in lab.calls()[2:])
    assert result["diff"]["before"]["serial"] == "1d"
    assert result["diff"]["before"]["not_after"] == (NOW + 10 * DAY).isoformat()
    assert result["diff"]["after"]["serial"] == "9d0d"
    assert "PRIVATE KEY" not in json.dumps(result)


def test_staging_certificate_in_production_lineage_is_replaced(lab):
    write_material(str(lab.config_dir / "live" / "shop"), STAGING_CA, serial=0x77)

    rc, result = lab.run()

    assert rc == 0, result
    assert result["reason"] == "issued by a staging CA"
    assert result["stage"] == "renewed"
    assert result["issuer"] == "CN=Pebble Intermediate CA abc123"


def test_missing_webroot_fails_before_docker(lab):
    rc, result = lab.run(webroot=str(lab.tmp_path / "nowhere"))
    assert rc == 1
    assert result["msg"].startswith("webroot %s is not a directory on this host" % (lab.tmp_path / "nowhere"))
    assert lab.calls() == []


def test_same_staging_and_production_directory_is_refused(lab):
    rc, result = lab.run(staging_directory=PRODUCTION_URL)
    assert rc == 1
    assert result["msg"].startswith("staging_directory and production_directory are the same")
    assert lab.calls() == []


# --------------------------------------------------------------------------------------------
# ARI and profiles, against a CA's directory and renewalInfo served over HTTP on loopback


class AcmeReadOnly:
    """The unauthenticated part of an ACME CA: its directory and its renewal windows (RFC 9773)."""

    def __init__(self) -> None:
        self.windows: dict[str, dict] = {}
        self.profiles: dict[str, str] | None = None
        self.requests: list[str] = []
        acme = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                acme.requests.append(self.path)
                if self.path == "/dir":
                    document: dict = {"newOrder": acme.url("/order"), "renewalInfo": acme.url("/ari/")}
                    if acme.profiles is not None:
                        document["meta"] = {"profiles": acme.profiles}
                    self._answer(200, document)
                elif self.path.startswith("/ari/") and self.path[5:] in acme.windows:
                    self._answer(200, acme.windows[self.path[5:]])
                else:
                    self._answer(404, {"type": "urn:ietf:params:acme:error:malformed"})

            def _answer(self, status: int, document: dict) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Retry-After", "21600")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: t.Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return "http://127.0.0.1:%d%s" % (self.server.server_address[1], path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def acme():
    server = AcmeReadOnly()
    yield server
    server.close()


def _ari_id(path: str) -> str:
    from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.renewal import ari_certificate_id

    with open(os.path.join(path, "fullchain.pem"), "rb") as handle:
        return ari_certificate_id(x509.load_pem_x509_certificates(handle.read())[0])


def _window(start: datetime.datetime, end: datetime.datetime) -> dict:
    return {"suggestedWindow": {"start": start.isoformat().replace("+00:00", "Z"),
                                "end": end.isoformat().replace("+00:00", "Z")}}


def _issued_with_aki(lab, acme) -> str:
    """A first issuance from the loopback CA, leaving a certificate that ARI can name (1 of 90 days used)."""
    production = acme.url("/dir")
    lab.config["issue"][production] = write_material(
        str(lab.tmp_path / "issue-ari"), PRODUCTION_CA, serial=0xA21, authority_key_id=True)
    lab._save()
    rc, result = lab.run(production_directory=production)
    assert rc == 0 and result["stage"] == "issued", result
    return _ari_id(str(lab.config_dir / "live" / "shop"))


def test_an_ari_window_already_over_renews_a_certificate_the_lifetime_rule_keeps(lab, acme):
    certificate_id = _issued_with_aki(lab, acme)
    acme.windows[certificate_id] = _window(NOW - 2 * DAY, NOW - DAY)

    rc, result = lab.run(production_directory=acme.url("/dir"))

    assert rc == 0, result
    assert result["changed"] is True and result["stage"] == "renewed"
    assert "ARI window %s .. %s" % ((NOW - 2 * DAY).isoformat(), (NOW - DAY).isoformat()) in result["reason"]
    assert "/ari/" + certificate_id in acme.requests


def test_a_future_ari_window_sets_the_renewal_time_and_nothing_is_ordered(lab, acme):
    certificate_id = _issued_with_aki(lab, acme)
    acme.windows[certificate_id] = _window(NOW + 40 * DAY, NOW + 42 * DAY)
    calls = len(lab.calls())

    rc, result = lab.run(production_directory=acme.url("/dir"), check_mode=True)
    assert rc == 0 and result["changed"] is False, result
    rc, result = lab.run(production_directory=acme.url("/dir"))

    assert rc == 0 and result["changed"] is False, result
    renew_at = datetime.datetime.fromisoformat(result["renew_at"])
    assert NOW + 40 * DAY <= renew_at < NOW + 42 * DAY
    assert len(lab.calls()) == calls


def test_without_ari_or_with_a_window_past_expiry_the_lifetime_rule_decides(lab, acme):
    certificate_id = _issued_with_aki(lab, acme)
    # Pebble 2.6 suggests 2/3 of the lifetime +/- 24 h: for short lifetimes the window ends after expiry.
    acme.windows[certificate_id] = _window(NOW - DAY, NOW + 100 * DAY)
    rc, result = lab.run(production_directory=acme.url("/dir"))
    assert rc == 0 and result["changed"] is False, result
    assert "the ARI window ends after the certificate expires" in result["reason"]
    assert result["renew_at"] == (NOW + 59 * DAY).isoformat()  # a third of 90 days left

    requests = len(acme.requests)
    rc, result = lab.run(production_directory=acme.url("/dir"), ari=False)
    assert rc == 0 and result["changed"] is False, result
    assert len(acme.requests) == requests  # ari=false asks nothing

    del acme.windows[certificate_id]
    rc, result = lab.run(production_directory=acme.url("/dir"))
    assert rc == 0 and "ARI answered HTTP 404" in result["reason"], result


def test_a_short_lived_certificate_renews_at_half_its_lifetime(lab):
    lab.run()
    write_material(str(lab.config_dir / "live" / "shop"), PRODUCTION_CA, serial=0x6D,
                   not_before=NOW - 3 * DAY - datetime.timedelta(hours=1), not_after=NOW + 3 * DAY - datetime.timedelta(hours=1))
    rc, result = lab.run()
    assert rc == 0 and result["stage"] == "renewed", result

    write_material(str(lab.config_dir / "live" / "shop"), PRODUCTION_CA, serial=0x6E,
                   not_before=NOW - 2 * DAY, not_after=NOW + 4 * DAY)
    rc, result = lab.run(renew_before_short_lived=0.7)  # due after 1.8 of 6 days
    assert rc == 0 and result["stage"] == "renewed", result
    rc, result = lab.run()
    assert rc == 0 and result["changed"] is False, result


def test_the_profile_is_required_in_both_orders_and_a_change_replaces_the_certificate(lab, acme):
    rc, result = lab.run(profile="shortlived")
    assert rc == 0, result
    assert all(call[call.index("--required-profile") + 1] == "shortlived" for call in lab.calls())

    # Certbot keeps it in the renewal configuration; the module compares it with the one asked for.
    conf = lab.config_dir / "renewal" / "shop.conf"
    conf.write_text("[renewalparams]\nrequired_profile = shortlived\n")
    rc, result = lab.run(profile="shortlived")
    assert rc == 0 and result["changed"] is False, result
    rc, result = lab.run(profile="tlsserver", check_mode=True)
    assert result["changed"] is True and result["reason"] == "profile changed: shortlived -> tlsserver", result
    rc, result = lab.run()
    assert result["changed"] is True and result["reason"] == "profile changed: shortlived -> the CA's default", result


def test_a_profile_the_ca_does_not_list_fails_before_any_order(lab, acme):
    acme.profiles = {"classic": "90 days", "shortlived": "6 days"}
    rc, result = lab.run(profile="tlsserver", staging_directory=acme.url("/dir"), production_directory=PRODUCTION_URL)
    assert rc == 1, result
    assert result["msg"] == (
        "profile tlsserver is not offered by %s, which offers classic, shortlived; set profile to one of them"
        % acme.url("/dir"))
    assert lab.calls() == []


def test_a_renewal_waits_while_the_renewal_job_holds_the_lock(lab):
    """The proxy's renewal job and this module would each order a certificate that is due: the module decides
    and issues under the job's lock (check mode, which only reads, takes none)."""
    import fcntl

    outcome: list = []
    with open(lab.tmp_path / "renew.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        rc, result = lab.run(check_mode=True)
        assert rc == 0 and result["changed"] is True, result
        worker = threading.Thread(target=lambda: outcome.append(lab.run()))
        worker.start()
        worker.join(timeout=2)
        assert worker.is_alive() and lab.calls() == []
    worker.join(timeout=60)
    assert outcome and outcome[0][1]["stage"] == "issued", outcome


def test_dns_01_checks_its_credentials_file_and_a_changed_challenge_replaces_the_certificate(lab):
    credentials = lab.tmp_path / "rfc2136.ini"
    dns = dict(challenge="dns-rfc2136", dns_credentials=str(credentials), domains=["shop.example.test", "*.shop.example.test"])
    rc, result = lab.run(**dns)
    assert rc == 1 and result["msg"] == "dns_credentials %s is not a file on this host" % credentials, result
    assert lab.calls() == []

    credentials.write_text("dns_rfc2136_server = 192.0.2.53\n")
    credentials.chmod(0o600)
    lab.config["issue"][PRODUCTION_URL] = write_material(
        str(lab.tmp_path / "issue-wildcard"), PRODUCTION_CA, serial=0x2A, domains=tuple(dns["domains"]))
    lab._save()
    rc, result = lab.run(**dns)
    assert rc == 0 and result["stage"] == "issued", result
    assert all(call[call.index("--authenticator") + 1] == "dns-rfc2136" and "%s:%s:ro" % (credentials, credentials) in call
               for call in lab.calls())

    # Certbot keeps the way a lineage was validated; the renewal job renews that way, so a new way is a new order.
    conf = lab.config_dir / "renewal" / "shop.conf"
    conf.write_text("[renewalparams]\nauthenticator = dns-rfc2136\ndns_rfc2136_credentials = %s\n" % credentials)
    rc, result = lab.run(**dns)
    assert rc == 0 and result["changed"] is False, result
    rc, result = lab.run(check_mode=True, domains=dns["domains"][:1])
    assert result["changed"] is True and result["reason"] == "domains changed: extra *.shop.example.test", result
    conf.write_text("[renewalparams]\nauthenticator = webroot\n")
    rc, result = lab.run(check_mode=True, **dns)
    assert result["changed"] is True and result["reason"] == "challenge changed: webroot -> dns-rfc2136", result


def _options_before_image(call: list[str]) -> list[str]:
    """The docker run options between the container's name and its first mount."""
    return call[call.index("--name") + 2:call.index("-v")]


def test_the_certbot_containers_are_hardened_by_default(lab):
    rc, result = lab.run()
    assert rc == 0, result
    for call in lab.calls():
        assert _options_before_image(call) == [
            "--read-only",
            "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=16m",
            "--tmpfs", "/var/log/letsencrypt:rw,noexec,nosuid,nodev,size=16m",
            "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges",
            "--pids-limit", "128",
            "--memory", "256m",
        ], call


def test_container_options_given_in_part_keep_the_other_defaults_and_never_order_by_themselves(lab):
    rc, result = lab.run(check_mode=True, container={"read_only": False, "pids_limit": 0, "cap_add": ["DAC_OVERRIDE"]})
    assert rc == 0, result
    assert _options_before_image(result["commands"][0]) == [
        "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=16m",
        "--tmpfs", "/var/log/letsencrypt:rw,noexec,nosuid,nodev,size=16m",
        "--cap-drop", "ALL", "--cap-add", "DAC_OVERRIDE",
        "--security-opt", "no-new-privileges",
        "--memory", "256m",
    ]
    lab.run()
    rc, result = lab.run(container={"memory": "512m"})
    assert rc == 0, result
    assert result["changed"] is False and len(lab.calls()) == 2


def test_a_read_only_container_without_a_tmpfs_for_the_logs_is_refused_before_docker(lab):
    rc, result = lab.run(container={"tmpfs": ["/tmp:size=16m"]})
    assert rc == 1, result
    assert "container.read_only needs a container.tmpfs entry for /var/log/letsencrypt" in result["msg"]
    assert lab.calls() == []
