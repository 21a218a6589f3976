# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for plugins/module_utils/_certbot/command.py: the docker argv per stage, and staging before production."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.command import (
    AcmeTarget,
    CertbotRequest,
    ContainerSecurity,
    acme_targets,
    build_certbot_argv,
    obtain_certificate,
)
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.errors import CertbotRunError, ParameterError
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.lineage import read_certificate
from ansible_collections.djangoops.fleet.tests.unit.plugins.module_utils._certbot.certbot_output import (
    CERTBOT_404,
    CERTBOT_RATE_LIMIT,
)
from ansible_collections.djangoops.fleet.tests.unit.plugins.module_utils._certbot.certificates import (
    CA,
    DAY,
    DOMAINS,
    NOW,
    make_leaf,
    write_lineage,
)


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

# The defaults' docker run options: Certbot writes only to its mounts (state, work directory, webroot) and to
# these two tmpfs (its logs, Python's temporary files).
HARDENED = [
    "--read-only",
    "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=16m",
    "--tmpfs", "/var/log/letsencrypt:rw,noexec,nosuid,nodev,size=16m",
    "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges",
    "--pids-limit", "128",
    "--memory", "256m",
]


def test_staging_argv_uses_separate_state_directories():
    staging = _targets()[0]
    assert build_certbot_argv(REQUEST, staging, lineage_exists=False) == [
        "docker", "run", "--rm", "--name", "certbot-shop.example.test-staging",
        *HARDENED,
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
        *HARDENED,
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
        *HARDENED[:7], "--cap-add", "NET_BIND_SERVICE", *HARDENED[7:],
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


def test_every_directory_certbot_writes_is_a_mount_or_a_tmpfs():
    argv = build_certbot_argv(REQUEST, _targets()[1], lineage_exists=False)
    mounted = {argv[i + 1].split(":")[1] for i, word in enumerate(argv) if word == "-v"}
    tmpfs = {argv[i + 1].split(":")[0] for i, word in enumerate(argv) if word == "--tmpfs"}
    assert "--read-only" in argv
    # --config-dir, --work-dir, the webroot; --logs-dir and Python's tempfile.
    assert mounted == {"/etc/letsencrypt", "/var/lib/letsencrypt", "/var/www/html"}
    assert tmpfs == {"/var/log/letsencrypt", "/tmp"}


@pytest.mark.parametrize("security, expected", [
    # Everything relaxed: Docker's defaults.
    (ContainerSecurity(read_only=False, tmpfs=(), cap_drop=(), no_new_privileges=False, pids_limit=0, memory=""), []),
    (ContainerSecurity(read_only=False, tmpfs=(), cap_drop=(), no_new_privileges=False, pids_limit=0, memory="0"), []),
    # A capability given back, other limits.
    (ContainerSecurity(cap_add=("DAC_OVERRIDE",), pids_limit=64, memory="1g", tmpfs=("/var/log/letsencrypt:size=1m",)),
     ["--read-only", "--tmpfs", "/var/log/letsencrypt:size=1m", "--cap-drop", "ALL", "--cap-add", "DAC_OVERRIDE",
      "--security-opt", "no-new-privileges", "--pids-limit", "64", "--memory", "1g"]),
])
def test_the_container_options_follow_the_settings(security, expected):
    request = CertbotRequest(cert_name="app", domains=("app.example.test",), container=security)
    argv = build_certbot_argv(request, _targets()[0], lineage_exists=False)
    assert argv[5:argv.index("-v")] == expected


def test_standalone_keeps_the_right_to_bind_port_80_unless_it_is_given_already():
    request = CertbotRequest(cert_name="app", domains=("app.example.test",), challenge="standalone",
                             container=ContainerSecurity(cap_add=("NET_BIND_SERVICE",)))
    argv = build_certbot_argv(request, _targets()[0], lineage_exists=False)
    assert argv.count("NET_BIND_SERVICE") == 1
    kept = CertbotRequest(cert_name="app", domains=("app.example.test",), challenge="standalone",
                          container=ContainerSecurity(cap_drop=("NET_RAW",)))
    assert "--cap-add" not in build_certbot_argv(kept, _targets()[0], lineage_exists=False)


@pytest.mark.parametrize("security, message", [
    (ContainerSecurity(tmpfs=("/tmp:size=16m",)), "container.read_only needs a container.tmpfs entry for /var/log/letsencrypt"),
    (ContainerSecurity(tmpfs=("var/log/letsencrypt:size=1m",)), "container.tmpfs entries must be '<absolute path>"),
    (ContainerSecurity(memory="lots"), "container.memory must be a size such as 256m"),
])
def test_container_settings_docker_or_certbot_would_refuse_are_named(security, message):
    request = CertbotRequest(cert_name="app", domains=("app.example.test",), container=security)
    with pytest.raises(ParameterError, match=message):
        build_certbot_argv(request, _targets()[0], lineage_exists=False)


def test_container_names_are_docker_safe():
    staging = _targets()[0]
    request = CertbotRequest(cert_name="*.example.test", domains=("*.example.test",), challenge="dns-rfc2136",
                             dns_credentials="/etc/rfc2136.ini")
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


def test_dns_01_mounts_the_credentials_at_their_own_path_and_names_the_plugin():
    production = _targets()[1]
    request = CertbotRequest(
        cert_name="shop",
        domains=("shop.example.test", "*.shop.example.test"),
        challenge="dns-rfc2136",
        image="certbot/dns-rfc2136:v5.8.0",
        dns_credentials="/etc/djangoops/certbot-rfc2136.ini",
        dns_propagation_seconds=30,
    )
    argv = build_certbot_argv(request, production, lineage_exists=False)
    assert argv[argv.index("-v", argv.index("/var/lib/letsencrypt:/var/lib/letsencrypt")) + 1] == (
        "/etc/djangoops/certbot-rfc2136.ini:/etc/djangoops/certbot-rfc2136.ini:ro")
    assert "-p" not in argv and "--webroot" not in argv
    assert argv[-10:] == [
        "-d", "*.shop.example.test", "--key-type", "ecdsa",
        "--authenticator", "dns-rfc2136", "--dns-rfc2136-credentials", "/etc/djangoops/certbot-rfc2136.ini",
        "--dns-rfc2136-propagation-seconds", "30",
    ]


@pytest.mark.parametrize("challenge", ["webroot", "standalone"])
def test_a_wildcard_name_needs_dns_01(challenge):
    request = CertbotRequest(cert_name="shop", domains=("shop.example.test", "*.shop.example.test"), challenge=challenge)
    with pytest.raises(ParameterError, match=r"^\*\.shop\.example\.test: a wildcard name can only be validated over DNS"):
        build_certbot_argv(request, _targets()[0], lineage_exists=False)


def test_dns_01_without_credentials_is_refused():
    request = CertbotRequest(cert_name="shop", domains=("shop.example.test",), challenge="dns-rfc2136")
    with pytest.raises(ParameterError, match="needs dns_credentials"):
        build_certbot_argv(request, _targets()[0], lineage_exists=False)
