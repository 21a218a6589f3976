# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for plugins/module_utils/_certbot.py with real certificates built by cryptography."""

from __future__ import annotations

import datetime
import hashlib
import os
import typing as t

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot import (
    AcmeTarget,
    CertbotRequest,
    CertbotRunError,
    CertificateReadError,
    LineageState,
    ParameterError,
    RenewalPolicy,
    acme_targets,
    build_certbot_argv,
    certificate_view,
    decide,
    diff_summary,
    explain_failure,
    inspect_lineage,
    obtain_certificate,
    planned_view,
    read_certificate,
    staging_issuer_names,
)


UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
DAY = datetime.timedelta(days=1)
DOMAINS = ("shop.example.test", "www.shop.example.test")


# ---------------------------------------------------------------------------------------------
# Certificate factory


class CA(t.NamedTuple):
    key: t.Any
    cert: x509.Certificate


def _name(cn: str, org: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attributes)


def make_ca(cn: str, *, org: str | None = None, parent: CA | None = None) -> CA:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(cn, org)
    issuer = parent.cert.subject if parent else subject
    signing_key = parent.key if parent else key
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 365 * DAY)
        .not_valid_after(NOW + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(signing_key, hashes.SHA256())
    )
    return CA(key, cert)


def make_leaf(
    ca: CA,
    *,
    domains: t.Sequence[str] = DOMAINS,
    not_before: datetime.datetime = NOW - 10 * DAY,
    not_after: datetime.datetime = NOW + 80 * DAY,
    key: t.Any = None,
    serial: int = 0x1A2B3C4D5E6F,
) -> tuple[x509.Certificate, t.Any]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(domains[0]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if domains:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), critical=False
        )
    return builder.sign(ca.key, hashes.SHA256()), key


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: t.Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_lineage(config_dir: str, name: str, cert: x509.Certificate, key: t.Any, ca: CA) -> str:
    """Write ``live/NAME/{fullchain,privkey}.pem`` plus ``renewal/NAME.conf`` as certbot does."""
    live = os.path.join(str(config_dir), "live", name)
    os.makedirs(live, exist_ok=True)
    with open(os.path.join(live, "fullchain.pem"), "wb") as handle:
        handle.write(pem(cert) + pem(ca.cert))
    with open(os.path.join(live, "privkey.pem"), "wb") as handle:
        handle.write(key_pem(key))
    renewal = os.path.join(str(config_dir), "renewal")
    os.makedirs(renewal, exist_ok=True)
    with open(os.path.join(renewal, name + ".conf"), "w") as handle:
        handle.write("# renewal configuration\n")
    return live


@pytest.fixture(scope="module")
def cas() -> dict[str, CA]:
    le_staging_root = make_ca("(STAGING) Pretend Pear X1", org="(STAGING) Internet Security Research Group")
    return {
        "le_staging": make_ca("(STAGING) Ersatz Edamame E1", org="(STAGING) Let's Encrypt", parent=le_staging_root),
        "fake_le": make_ca("Fake LE Intermediate X1"),
        # Two Pebble instances: nothing in their names says which one is staging.
        "pebble_staging": make_ca("Pebble Intermediate CA 5t4g1n"),
        "production": make_ca("Pebble Intermediate CA abc123", org="Pebble"),
    }


# ---------------------------------------------------------------------------------------------
# Reading


def test_read_certificate_summarizes_the_leaf_of_a_fullchain(tmp_path, cas):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = make_leaf(cas["production"], key=key, serial=0xABCDEF0123)[0]
    live = write_lineage(tmp_path, "shop", cert, key, cas["production"])

    summary = read_certificate(os.path.join(live, "fullchain.pem"))

    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.sha256(spki).hexdigest()
    assert summary.subject_cn == "shop.example.test"
    assert summary.domains == ("shop.example.test", "www.shop.example.test")
    assert summary.issuer == "CN=Pebble Intermediate CA abc123,O=Pebble"
    assert summary.issuer_cn == "Pebble Intermediate CA abc123"
    assert summary.serial == "abcdef0123"
    assert summary.not_before == datetime.datetime(2026, 11, 14, 12, 0, tzinfo=UTC)
    assert summary.not_after == datetime.datetime(2027, 2, 12, 12, 0, tzinfo=UTC)
    assert summary.public_key_fingerprint.replace(":", "") == digest
    assert summary.key_type == "ecdsa"


def test_read_certificate_reports_rsa_keys(tmp_path, cas):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = make_leaf(cas["production"], key=key)[0]
    live = write_lineage(tmp_path, "shop", cert, key, cas["production"])
    assert read_certificate(os.path.join(live, "fullchain.pem")).key_type == "rsa"


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "the file is empty"),
        (b"   \n", "the file is empty"),
        (b"hello, I am not a certificate\n", "no PEM certificate (-----BEGIN CERTIFICATE-----) found"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a valid PEM certificate"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "no PEM certificate (-----BEGIN CERTIFICATE-----) found"),
    ],
    ids=["empty", "blank", "text", "bad-base64", "truncated"],
)
def test_read_certificate_rejects_garbage_with_the_path(tmp_path, content, problem):
    path = tmp_path / "fullchain.pem"
    path.write_bytes(content)
    with pytest.raises(CertificateReadError) as caught:
        read_certificate(str(path))
    assert caught.value.path == str(path)
    assert caught.value.problem.startswith(problem)
    assert str(caught.value).startswith(str(path) + ": ")


def test_read_certificate_reports_an_unreadable_path(tmp_path):
    (tmp_path / "fullchain.pem").mkdir()
    with pytest.raises(CertificateReadError) as caught:
        read_certificate(str(tmp_path / "fullchain.pem"))
    assert caught.value.problem == "cannot read the certificate (Is a directory)"


def test_inspect_lineage_treats_a_dangling_symlink_as_unreadable(tmp_path):
    live = tmp_path / "live" / "shop"
    live.mkdir(parents=True)
    os.symlink("../../archive/shop/fullchain1.pem", str(live / "fullchain.pem"))
    lineage = inspect_lineage(str(live))
    assert lineage.present
    assert lineage.certificate is None
    assert lineage.read_error == (
        "%s: cannot read the certificate (No such file or directory)" % (live / "fullchain.pem")
    )


def test_inspect_lineage_of_a_missing_directory_is_absent(tmp_path):
    lineage = inspect_lineage(str(tmp_path / "live" / "shop"))
    assert lineage == LineageState(
        fullchain=str(tmp_path / "live" / "shop" / "fullchain.pem"),
        privkey=str(tmp_path / "live" / "shop" / "privkey.pem"),
    )
    assert not lineage.present


@pytest.mark.parametrize(
    "privkey, problem",
    [
        ("other", "its public key differs from the certificate's"),
        ("garbage", "the private key cannot be loaded"),
        ("missing", "cannot read the private key (No such file or directory)"),
    ],
)
def test_inspect_lineage_checks_the_private_key(tmp_path, cas, privkey, problem):
    cert, key = make_leaf(cas["production"])
    live = write_lineage(tmp_path, "shop", cert, key, cas["production"])
    keyfile = os.path.join(live, "privkey.pem")
    if privkey == "other":
        with open(keyfile, "wb") as handle:
            handle.write(key_pem(ec.generate_private_key(ec.SECP256R1())))
    elif privkey == "garbage":
        with open(keyfile, "wb") as handle:
            # A key file's armour around garbage (spelled in parts so secret scanners see no key).
            handle.write(b"-----BEGIN " + b"PRIVATE KEY-----\nnope\n-----END " + b"PRIVATE KEY-----\n")
    else:
        os.unlink(keyfile)
    assert inspect_lineage(live).key_problem.startswith(problem)


def test_inspect_lineage_accepts_the_matching_key(tmp_path, cas):
    cert, key = make_leaf(cas["production"])
    live = write_lineage(tmp_path, "shop", cert, key, cas["production"])
    assert inspect_lineage(live).key_problem is None


# ---------------------------------------------------------------------------------------------
# Deciding


def _scenario(name: str, tmp_path, cas) -> tuple[LineageState, frozenset]:
    """Build the production (and staging) lineage a decision case describes; return it and the staging issuers."""
    prod_dir = tmp_path / "letsencrypt"
    stage_dir = tmp_path / "letsencrypt-staging"
    staging_cert, staging_key = make_leaf(cas["pebble_staging"])
    write_lineage(stage_dir, "shop", staging_cert, staging_key, cas["pebble_staging"])
    staging_issuers = staging_issuer_names(inspect_lineage(str(stage_dir / "live" / "shop")).certificate)
    live = str(prod_dir / "live" / "shop")

    if name == "no-cert":
        return inspect_lineage(live), staging_issuers
    if name == "garbage":
        os.makedirs(live)
        with open(os.path.join(live, "fullchain.pem"), "w") as handle:
            handle.write("<html>502 Bad Gateway</html>\n")
        return inspect_lineage(live), staging_issuers

    leaf_kwargs: dict[str, t.Any] = {}
    ca = cas["production"]
    if name in ("le-staging", "fake-le", "pebble-staging"):
        ca = cas[name.replace("-", "_")]
    elif name == "missing-domain":
        leaf_kwargs["domains"] = ("shop.example.test",)
    elif name == "extra-domain":
        leaf_kwargs["domains"] = DOMAINS + ("old.example.test",)
    elif name == "missing-and-extra":
        leaf_kwargs["domains"] = ("shop.example.test", "old.example.test")
    elif name == "uppercase-san":
        leaf_kwargs["domains"] = ("SHOP.example.test", "www.shop.example.test")
    elif name == "renewal-due":
        leaf_kwargs.update(not_before=NOW - 70 * DAY, not_after=NOW + 20 * DAY)
    elif name == "expired":
        leaf_kwargs.update(not_before=NOW - 100 * DAY, not_after=NOW - 10 * DAY)
    elif name == "rsa":
        leaf_kwargs["key"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert, key = make_leaf(ca, **leaf_kwargs)
    write_lineage(prod_dir, "shop", cert, key, ca)
    if name == "key-mismatch":
        with open(os.path.join(live, "privkey.pem"), "wb") as handle:
            handle.write(key_pem(ec.generate_private_key(ec.SECP256R1())))
    if name == "key-garbage":
        with open(os.path.join(live, "privkey.pem"), "w") as handle:
            handle.write("not a key\n")
    return inspect_lineage(live), staging_issuers


@pytest.mark.parametrize(
    "scenario, force, action, reason",
    [
        ("no-cert", False, "issue", "no certificate"),
        ("no-cert", True, "issue", "no certificate"),
        ("le-staging", False, "issue", "issued by a staging CA"),
        ("fake-le", False, "issue", "issued by a staging CA"),
        ("pebble-staging", False, "issue", "issued by a staging CA"),
        ("missing-domain", False, "issue", "domains changed: missing www.shop.example.test"),
        ("extra-domain", False, "issue", "domains changed: extra old.example.test"),
        (
            "missing-and-extra", False, "issue",
            "domains changed: missing www.shop.example.test / extra old.example.test",
        ),
        ("renewal-due", False, "issue", "renewal due (expires 2026-12-14T12:00:00+00:00)"),
        ("expired", False, "issue", "renewal due (expires 2026-11-14T12:00:00+00:00)"),
        ("key-mismatch", False, "issue", "private key does not match certificate"),
        ("key-garbage", False, "issue", "private key does not match certificate"),
        ("rsa", False, "issue", "key type changed: rsa -> ecdsa"),
        (
            "valid", False, "none",
            "certificate is valid until 2027-02-12T12:00:00+00:00 (renewal due from 2027-01-13T12:00:00+00:00)",
        ),
        (
            "uppercase-san", False, "none",
            "certificate is valid until 2027-02-12T12:00:00+00:00 (renewal due from 2027-01-13T12:00:00+00:00)",
        ),
        ("valid", True, "issue", "forced"),
    ],
)
def test_decide(tmp_path, cas, scenario, force, action, reason):
    lineage, staging_issuers = _scenario(scenario, tmp_path, cas)
    decision = decide(
        lineage,
        domains=DOMAINS,
        staging_issuers=staging_issuers,
        policy=RenewalPolicy.from_options(),
        now=NOW,
        force=force,
        key_type="ecdsa",
    )
    assert (decision.action, decision.reason) == (action, reason)
    assert decision.changed is (action == "issue")


def test_decide_names_the_unreadable_file(tmp_path, cas):
    lineage, staging_issuers = _scenario("garbage", tmp_path, cas)
    decision = decide(
        lineage, domains=DOMAINS, staging_issuers=staging_issuers, policy=RenewalPolicy.from_options(), now=NOW
    )
    assert decision.action == "issue"
    assert decision.reason == (
        "unreadable certificate: %s: no PEM certificate (-----BEGIN CERTIFICATE-----) found" % lineage.fullchain
    )


def test_pebble_staging_issuer_is_unknown_without_the_staging_lineage(tmp_path, cas):
    # The same certificate is fine when nothing tells us its issuer is the staging CA.
    lineage = _scenario("pebble-staging", tmp_path, cas)[0]
    decision = decide(lineage, domains=DOMAINS, staging_issuers=frozenset(), policy=RenewalPolicy(), now=NOW)
    assert decision.action == "none"


@pytest.mark.parametrize(
    "policy, remaining_days, action",
    [
        # 90-day certificate: a third is 30 days, a half 45 days.
        (RenewalPolicy.from_options(), 31, "none"),
        (RenewalPolicy.from_options(), 29, "issue"),
        (RenewalPolicy.from_options(fraction=0.5), 46, "none"),
        (RenewalPolicy.from_options(fraction=0.5), 44, "issue"),
        (RenewalPolicy.from_options(days=10), 11, "none"),
        (RenewalPolicy.from_options(days=10), 9, "issue"),
        (RenewalPolicy.from_options(days=60), 59, "issue"),
    ],
)
def test_renewal_thresholds(tmp_path, cas, policy, remaining_days, action):
    not_after = NOW + remaining_days * DAY
    cert, key = make_leaf(cas["production"], not_before=not_after - 90 * DAY, not_after=not_after)
    live = write_lineage(tmp_path, "shop", cert, key, cas["production"])
    decision = decide(inspect_lineage(live), domains=DOMAINS, staging_issuers=frozenset(), policy=policy, now=NOW)
    assert decision.action == action


@pytest.mark.parametrize(
    "fraction, days, message",
    [
        (0.0, None, "renew_before is a fraction"),
        (1.0, None, "renew_before is a fraction"),
        (30.0, None, "renew_before is a fraction"),
        (None, 0, "renew_before_days must be at least 1, got 0"),
        (0.3, 10, "set renew_before or renew_before_days, not both"),
    ],
)
def test_renewal_policy_rejects_bad_values(fraction, days, message):
    with pytest.raises(ParameterError) as caught:
        RenewalPolicy.from_options(fraction=fraction, days=days)
    assert str(caught.value).startswith(message)


# ---------------------------------------------------------------------------------------------
# docker argv


def _targets(tmp_path=None, **kwargs: t.Any) -> tuple[AcmeTarget, AcmeTarget]:
    options = dict(
        staging_directory="https://acme-staging-v02.api.letsencrypt.org/directory",
        production_directory="https://acme-v02.api.letsencrypt.org/directory",
        config_dir="/etc/letsencrypt",
        work_dir="/var/lib/letsencrypt",
    )
    options.update(kwargs)
    return acme_targets(**options)


REQUEST = CertbotRequest(
    cert_name="shop.example.test",
    domains=DOMAINS,
    email="ops@example.test",
    image="certbot/certbot:v5.8.0",
)


def test_staging_argv_uses_separate_state_directories():
    staging = _targets()[0]
    assert build_certbot_argv(REQUEST, staging, lineage_exists=False) == [
        "docker", "run", "--rm", "--name", "certbot-shop.example.test-staging",
        "-v", "/etc/letsencrypt-staging:/etc/letsencrypt",
        "-v", "/var/lib/letsencrypt-staging:/var/lib/letsencrypt",
        "-v", "/var/www/html:/var/www/html",
        "certbot/certbot:v5.8.0",
        "certonly", "--non-interactive", "--agree-tos", "--email", "ops@example.test",
        "--server", "https://acme-staging-v02.api.letsencrypt.org/directory",
        "--cert-name", "shop.example.test",
        "-d", "shop.example.test", "-d", "www.shop.example.test",
        "--key-type", "ecdsa",
        "--webroot", "-w", "/var/www/html",
    ]


def test_production_argv_forces_renewal_of_an_existing_lineage():
    production = _targets()[1]
    assert build_certbot_argv(REQUEST, production, lineage_exists=True, docker="/usr/bin/docker") == [
        "/usr/bin/docker", "run", "--rm", "--name", "certbot-shop.example.test-production",
        "-v", "/etc/letsencrypt:/etc/letsencrypt",
        "-v", "/var/lib/letsencrypt:/var/lib/letsencrypt",
        "-v", "/var/www/html:/var/www/html",
        "certbot/certbot:v5.8.0",
        "certonly", "--non-interactive", "--agree-tos", "--email", "ops@example.test",
        "--server", "https://acme-v02.api.letsencrypt.org/directory",
        "--cert-name", "shop.example.test",
        "-d", "shop.example.test", "-d", "www.shop.example.test",
        "--key-type", "ecdsa",
        "--webroot", "-w", "/var/www/html",
        "--force-renewal",
    ]


def test_argv_for_a_private_acme_server_in_standalone_mode():
    staging = _targets(
        staging_directory="https://10.20.0.2:14000/dir",
        production_directory="https://10.20.0.3:14000/dir",
        config_dir="/srv/le/",
        staging_config_dir="/srv/le-test",
        work_dir="/srv/le-work",
    )[0]
    request = CertbotRequest(
        cert_name="app",
        domains=("app.lab.test",),
        challenge="standalone",
        key_type="rsa",
        image="djangoops-lab/certbot:latest",
        ca_bundle="/etc/ssl/lab/pebble-api-ca.pem",
        docker_network="lab",
    )
    assert build_certbot_argv(request, staging, lineage_exists=False) == [
        "docker", "run", "--rm", "--name", "certbot-app-staging",
        "--network", "lab",
        "-v", "/srv/le-test:/etc/letsencrypt",
        "-v", "/srv/le-work-staging:/var/lib/letsencrypt",
        "-p", "80:80",
        "-v", "/etc/ssl/lab/pebble-api-ca.pem:/etc/ssl/acme-ca-bundle.pem:ro",
        "-e", "REQUESTS_CA_BUNDLE=/etc/ssl/acme-ca-bundle.pem",
        "djangoops-lab/certbot:latest",
        "certonly", "--non-interactive", "--agree-tos", "--register-unsafely-without-email",
        "--server", "https://10.20.0.2:14000/dir",
        "--cert-name", "app",
        "-d", "app.lab.test",
        "--key-type", "rsa",
        "--standalone",
    ]


def test_container_names_are_docker_safe():
    staging = _targets()[0]
    request = CertbotRequest(cert_name="*.example.test", domains=("*.example.test",))
    assert build_certbot_argv(request, staging, lineage_exists=False)[3:5] == ["--name", "certbot-example.test-staging"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(staging_config_dir="/etc/letsencrypt/"), "staging_config_dir must differ from config_dir"),
        (
            dict(staging_directory="https://acme-v02.api.letsencrypt.org/directory/"),
            "staging_directory and production_directory are the same",
        ),
    ],
)
def test_targets_refuse_shared_staging_and_production(kwargs, message):
    with pytest.raises(ParameterError) as caught:
        _targets(**kwargs)
    assert str(caught.value).startswith(message)


def test_lineage_exists_follows_the_renewal_conf(tmp_path, cas):
    staging, production = _targets(config_dir=str(tmp_path / "le"))
    cert, key = make_leaf(cas["production"])
    write_lineage(tmp_path / "le", "shop.example.test", cert, key, cas["production"])
    assert production.lineage_exists("shop.example.test")
    assert not staging.lineage_exists("shop.example.test")


# ---------------------------------------------------------------------------------------------
# Explaining certbot failures

CERTBOT_DNS = (
    "Saving debug log to /var/log/letsencrypt/letsencrypt.log\n"
    "Requesting a certificate for shop.example.test and www.shop.example.test\n"
    "\n"
    "Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority "
    "reported these problems:\n"
    "  Domain: www.shop.example.test\n"
    "  Type:   dns\n"
    "  Detail: DNS problem: NXDOMAIN looking up A for www.shop.example.test - check that a DNS record "
    "exists for this domain; DNS problem: NXDOMAIN looking up AAAA for www.shop.example.test - check "
    "that a DNS record exists for this domain\n"
    "\n"
    "Hint: The Certificate Authority failed to download the temporary challenge files created by "
    "Certbot. Ensure that the listed domains serve their content from the provided --webroot-path/-w and "
    "that files created there can be downloaded from the internet.\n"
    "\n"
    "Some challenges have failed.\n"
    "Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile "
    "/var/log/letsencrypt/letsencrypt.log or re-run Certbot with -v for more details.\n"
)

CERTBOT_REFUSED = (
    "Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority "
    "reported these problems:\n"
    "  Domain: shop.example.test\n"
    "  Type:   connection\n"
    "  Detail: 198.51.100.7: Fetching http://shop.example.test/.well-known/acme-challenge/x4Yq1dE0: "
    "Connection refused\n"
    "\n"
    "  Domain: www.shop.example.test\n"
    "  Type:   connection\n"
    "  Detail: 198.51.100.7: Fetching http://www.shop.example.test/.well-known/acme-challenge/pQ9sLw: "
    "Timeout during connect (likely firewall problem)\n"
    "\n"
    "Some challenges have failed.\n"
)

CERTBOT_404 = (
    "Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority "
    "reported these problems:\n"
    "  Domain: shop.example.test\n"
    "  Type:   unauthorized\n"
    "  Detail: 198.51.100.7: Invalid response from "
    "http://shop.example.test/.well-known/acme-challenge/x4Yq1dE0: 404\n"
    "\n"
    "Hint: The Certificate Authority failed to download the temporary challenge files created by Certbot.\n"
)

CERTBOT_403 = """\
  Domain: shop.example.test
  Type:   unauthorized
  Detail: 198.51.100.7: Invalid response from http://shop.example.test/.well-known/acme-challenge/x4Yq1dE0: 403
"""

CERTBOT_OLD_FORMAT = """\
IMPORTANT NOTES:
 - The following errors were reported by the server:

   Domain: shop.example.test
   Type:   unauthorized
   Detail: Invalid response from
   http://shop.example.test/.well-known/acme-challenge/abc [198.51.100.7]: 404
"""

CERTBOT_RATE_LIMIT = (
    "Saving debug log to /var/log/letsencrypt/letsencrypt.log\n"
    "Requesting a certificate for shop.example.test\n"
    "An unexpected error occurred:\n"
    "Error creating new order :: too many certificates (5) already issued for this exact set of "
    "identifiers in the last 168h0m0s, retry after 2026-11-26 18:18:07 UTC: see "
    "https://letsencrypt.org/docs/rate-limits/#new-certificates-per-exact-set-of-identifiers\n"
    "Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile "
    "/var/log/letsencrypt/letsencrypt.log or re-run Certbot with -v for more details.\n"
)

CERTBOT_RATE_LIMIT_URN = (
    "An unexpected error occurred:\n"
    "urn:ietf:params:acme:error:rateLimited :: too many failed authorizations (5) for "
    "\"shop.example.test\" in the last 1h0m0s, retry after 2026-11-24T13:05:00Z: see "
    "https://letsencrypt.org/docs/rate-limits/#authorization-failures-per-hostname-per-account\n"
)

CERTBOT_TLS = (
    "Saving debug log to /var/log/letsencrypt/letsencrypt.log\n"
    "An unexpected error occurred:\n"
    "requests.exceptions.SSLError: HTTPSConnectionPool(host='10.20.0.2', port=14000): Max retries "
    "exceeded with url: /dir (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
    "CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate "
    "(_ssl.c:1006)')))\n"
    "Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile "
    "/var/log/letsencrypt/letsencrypt.log or re-run Certbot with -v for more details.\n"
)

CERTBOT_URN_DNS = (
    "An unexpected error occurred:\n"
    "urn:ietf:params:acme:error:dns :: DNS problem: SERVFAIL looking up CAA for shop.example.test - the "
    "domain's nameservers may be malfunctioning\n"
)

DOCKER_DOWN = (
    "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"
    "See 'docker run --help'.\n"
)

DOCKER_NAME_CONFLICT = (
    'docker: Error response from daemon: Conflict. The container name "/certbot-shop.example.test-staging" is'
    ' already in use by container "3f1e". You have to remove (or rename) that container to be able to reuse'
    " that name.\n"
)


@pytest.mark.parametrize(
    "stdout, stderr, reason",
    [
        ("", CERTBOT_DNS, "DNS for www.shop.example.test does not point here"),
        (
            "", CERTBOT_REFUSED,
            "port 80 on shop.example.test is unreachable from the CA;"
            " port 80 on www.shop.example.test is unreachable from the CA",
        ),
        ("", CERTBOT_404, "the webroot is not served at /.well-known/acme-challenge/ for shop.example.test"),
        (
            "", CERTBOT_403,
            "shop.example.test: unauthorized: 198.51.100.7: Invalid response from"
            " http://shop.example.test/.well-known/acme-challenge/x4Yq1dE0: 403",
        ),
        ("", CERTBOT_RATE_LIMIT, "rate limited; retry after 2026-11-26 18:18:07 UTC"),
        ("", CERTBOT_RATE_LIMIT_URN, "rate limited; retry after 2026-11-24T13:05:00Z"),
        ("", CERTBOT_TLS, "TLS to the ACME server failed: set ca_bundle"),
        ("", CERTBOT_URN_DNS, "DNS for shop.example.test does not point here"),
        ("", DOCKER_DOWN, "the Docker engine is not running on this host"),
        (
            "", DOCKER_NAME_CONFLICT,
            "another certbot container for this certificate is still running (docker name conflict)",
        ),
        (CERTBOT_DNS, "", "DNS for www.shop.example.test does not point here"),
    ],
    ids=["dns", "refused-and-timeout", "404", "403", "rate-limit", "rate-limit-urn", "tls", "urn-dns",
         "docker-down", "name-conflict", "on-stdout"],
)
def test_explain_failure(stdout, stderr, reason):
    explanation = explain_failure(rc=1, stdout=stdout, stderr=stderr)
    assert explanation.reason == reason
    assert explanation.tail[-1] == (stdout + stderr).strip().splitlines()[-1].rstrip()


def test_explain_failure_old_certbot_404_detail_on_the_next_line():
    # certbot 1.x wrapped the detail, so the 404 sits on an indented line of its own.
    explanation = explain_failure(rc=1, stdout="", stderr=CERTBOT_OLD_FORMAT)
    assert explanation.reason == "the webroot is not served at /.well-known/acme-challenge/ for shop.example.test"


def test_explain_failure_falls_back_to_the_last_lines():
    output = "\n".join("line %d" % i for i in range(30)) + "\n\n"
    explanation = explain_failure(rc=2, stdout=output, stderr="")
    assert explanation.reason == "certbot exited with 2: line 27 / line 28 / line 29"
    assert explanation.tail == tuple("line %d" % i for i in range(10, 30))


def test_explain_failure_without_output():
    assert explain_failure(rc=125, stdout="", stderr="").reason == "certbot exited with 125: no output"


# ---------------------------------------------------------------------------------------------
# Running staging, then production, with a runner standing in for docker


class FakeDocker:
    """Records argv and, like certbot, writes a lineage into the mounted config dir."""

    def __init__(self, issuers: dict[str, CA], fail: dict[str, str] | None = None) -> None:
        self.issuers = issuers
        self.fail = fail or {}
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(list(argv))
        server = argv[argv.index("--server") + 1]
        if server in self.fail:
            return 1, "", self.fail[server]
        config_dir = next(m.split(":")[0] for m in argv if m.endswith(":/etc/letsencrypt"))
        name = argv[argv.index("--cert-name") + 1]
        domains = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-d"]
        ca = self.issuers[server]
        cert, key = make_leaf(ca, domains=domains, not_before=NOW, not_after=NOW + 90 * DAY)
        write_lineage(config_dir, name, cert, key, ca)
        return 0, "Successfully received certificate.\n", ""


STAGING_URL = "https://10.20.0.2:14000/dir"
PRODUCTION_URL = "https://10.20.0.3:14000/dir"


def _lab(tmp_path) -> tuple[CertbotRequest, tuple[AcmeTarget, AcmeTarget]]:
    request = CertbotRequest(cert_name="shop", domains=DOMAINS, webroot=str(tmp_path / "www"))
    targets = _targets(
        staging_directory=STAGING_URL,
        production_directory=PRODUCTION_URL,
        config_dir=str(tmp_path / "le"),
        work_dir=str(tmp_path / "work"),
    )
    return request, targets


def test_obtain_runs_staging_then_production(tmp_path, cas):
    request, targets = _lab(tmp_path)
    docker = FakeDocker({STAGING_URL: cas["pebble_staging"], PRODUCTION_URL: cas["production"]})

    outcome = obtain_certificate(request, targets, run=docker)

    assert [call[call.index("--server") + 1] for call in docker.calls] == [STAGING_URL, PRODUCTION_URL]
    assert outcome.staging.issuer == "CN=Pebble Intermediate CA 5t4g1n"
    assert outcome.production.issuer == "CN=Pebble Intermediate CA abc123,O=Pebble"
    assert read_certificate(str(tmp_path / "le" / "live" / "shop" / "fullchain.pem")).issuer_cn == (
        "Pebble Intermediate CA abc123"
    )
    assert read_certificate(str(tmp_path / "le-staging" / "live" / "shop" / "fullchain.pem")).issuer_cn == (
        "Pebble Intermediate CA 5t4g1n"
    )
    assert "--force-renewal" not in docker.calls[0] and "--force-renewal" not in docker.calls[1]

    obtain_certificate(request, targets, run=docker)
    assert "--force-renewal" in docker.calls[2] and "--force-renewal" in docker.calls[3]


def test_obtain_never_contacts_production_when_staging_fails(tmp_path, cas):
    request, targets = _lab(tmp_path)
    docker = FakeDocker(
        {STAGING_URL: cas["pebble_staging"], PRODUCTION_URL: cas["production"]}, fail={STAGING_URL: CERTBOT_404}
    )
    with pytest.raises(CertbotRunError) as caught:
        obtain_certificate(request, targets, run=docker)
    assert caught.value.stage == "staging"
    assert caught.value.reason == "the webroot is not served at /.well-known/acme-challenge/ for shop.example.test"
    assert str(caught.value) == (
        "staging certificate request failed:"
        " the webroot is not served at /.well-known/acme-challenge/ for shop.example.test"
    )
    assert len(docker.calls) == 1
    assert not (tmp_path / "le" / "live").exists()


def test_obtain_reports_a_production_failure(tmp_path, cas):
    request, targets = _lab(tmp_path)
    docker = FakeDocker(
        {STAGING_URL: cas["pebble_staging"], PRODUCTION_URL: cas["production"]},
        fail={PRODUCTION_URL: CERTBOT_RATE_LIMIT},
    )
    with pytest.raises(CertbotRunError) as caught:
        obtain_certificate(request, targets, run=docker)
    assert (caught.value.stage, caught.value.reason, caught.value.rc) == (
        "production", "rate limited; retry after 2026-11-26 18:18:07 UTC", 1
    )
    assert len(docker.calls) == 2


def test_obtain_refuses_a_staging_certificate_from_the_production_directory(tmp_path, cas):
    request, targets = _lab(tmp_path)
    docker = FakeDocker({STAGING_URL: cas["pebble_staging"], PRODUCTION_URL: cas["pebble_staging"]})
    with pytest.raises(CertbotRunError) as caught:
        obtain_certificate(request, targets, run=docker)
    assert caught.value.stage == "production"
    assert "issued a certificate from the staging issuer CN=Pebble Intermediate CA 5t4g1n" in caught.value.reason


def test_obtain_fails_when_certbot_exits_0_without_a_certificate(tmp_path):
    request, targets = _lab(tmp_path)
    with pytest.raises(CertbotRunError) as caught:
        obtain_certificate(request, targets, run=lambda argv: (0, "", ""))
    assert caught.value.stage == "staging"
    assert caught.value.reason == "certbot exited 0 but left no readable certificate: %s is missing" % (
        tmp_path / "le-staging" / "live" / "shop" / "fullchain.pem"
    )


# ---------------------------------------------------------------------------------------------
# Diff


def test_diff_summary_shows_no_key_material(tmp_path, cas):
    old, old_key = make_leaf(cas["le_staging"], serial=0x11, not_after=NOW + 80 * DAY)
    new, new_key = make_leaf(cas["production"], serial=0x22, not_after=NOW + 90 * DAY)
    before = read_certificate(write_lineage(tmp_path / "a", "s", old, old_key, cas["le_staging"]) + "/fullchain.pem")
    after = read_certificate(write_lineage(tmp_path / "b", "s", new, new_key, cas["production"]) + "/fullchain.pem")

    assert diff_summary(before, after) == {
        "before": {
            "serial": "11",
            "issuer": "CN=(STAGING) Ersatz Edamame E1,O=(STAGING) Let's Encrypt",
            "not_after": "2027-02-12T12:00:00+00:00",
            "domains": ["shop.example.test", "www.shop.example.test"],
        },
        "after": {
            "serial": "22",
            "issuer": "CN=Pebble Intermediate CA abc123,O=Pebble",
            "not_after": "2027-02-22T12:00:00+00:00",
            "domains": ["shop.example.test", "www.shop.example.test"],
        },
    }


def test_diff_summary_in_check_mode_plans_the_domains():
    planned = planned_view(["WWW.shop.example.test", "shop.example.test"], directory=PRODUCTION_URL)
    assert diff_summary(None, None, planned=planned) == {
        "before": {},
        "after": {
            "serial": None,
            "issuer": "(to be issued by https://10.20.0.3:14000/dir)",
            "not_after": None,
            "domains": ["shop.example.test", "www.shop.example.test"],
        },
    }
    assert certificate_view(None) == {}
