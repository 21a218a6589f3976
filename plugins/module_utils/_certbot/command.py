# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The Certbot runs of djangoops.fleet.certbot_certificate: staging first, then production.

Builds the ``docker run --rm ... certonly`` argv for each ACME directory, each with host
directories of its own, and runs the stages through an injected runner; a failed stage raises
before the next one starts.
"""

from __future__ import annotations

import os
import re
import typing as t
from dataclasses import dataclass

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.errors import CertbotRunError, ParameterError
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.explain import explain_failure
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.lineage import (
    CertificateSummary,
    inspect_lineage,
    is_staging_issuer,
    live_dir,
    staging_issuer_names,
)


DEFAULT_IMAGE = "certbot/certbot:v5.8.0"
DEFAULT_CONFIG_DIR = "/etc/letsencrypt"
DEFAULT_WORK_DIR = "/var/lib/letsencrypt"
DEFAULT_WEBROOT = "/var/www/html"
STAGING_DIRECTORY = "https://acme-staging-v02.api.letsencrypt.org/directory"
PRODUCTION_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory"

# Where the host directories appear inside the certbot container: the image's own defaults,
# so certbot needs no --config-dir/--work-dir flags and behaves as documented upstream.
CONTAINER_CONFIG_DIR = "/etc/letsencrypt"
CONTAINER_WORK_DIR = "/var/lib/letsencrypt"
CONTAINER_CA_BUNDLE = "/etc/ssl/acme-ca-bundle.pem"

# Where Certbot writes besides the mounted config and work directories (and the webroot): its logs, and
# Python's temporary files. With a read-only root file system each must be a tmpfs.
CONTAINER_LOGS_DIR = "/var/log/letsencrypt"
DEFAULT_TMPFS = ("/tmp:rw,noexec,nosuid,nodev,size=16m", CONTAINER_LOGS_DIR + ":rw,noexec,nosuid,nodev,size=16m")

CHALLENGES = ("webroot", "standalone", "dns-rfc2136")
# Certbot's default wait for a DNS-01 record to reach the servers the CA asks.
DEFAULT_DNS_PROPAGATION_SECONDS = 60
KEY_TYPES = ("ecdsa", "rsa")


# --------------------------------------------------------------------------------------------
# Building the docker command


@dataclass(frozen=True)
class ContainerSecurity:
    """How the Certbot containers are confined (Docker's run options); the defaults harden them."""

    # Root file system read-only: Certbot writes to its mounts and tmpfs only.
    read_only: bool = True
    # "<path>:<mount options>" each, as --tmpfs takes them.
    tmpfs: tuple[str, ...] = DEFAULT_TMPFS
    # Certbot runs as root in its container, on files root owns: it needs no capability (standalone gets
    # NET_BIND_SERVICE for port 80).
    cap_drop: tuple[str, ...] = ("ALL",)
    cap_add: tuple[str, ...] = ()
    no_new_privileges: bool = True
    # 0: no limit.
    pids_limit: int = 128
    # "" or "0": no limit.
    memory: str = "256m"


def _tmpfs_paths(security: ContainerSecurity) -> set[str]:
    return {entry.split(":", 1)[0].rstrip("/") or "/" for entry in security.tmpfs}


def security_problems(security: ContainerSecurity) -> list[str]:
    """What in ``security`` Docker or Certbot would refuse, each naming the option and the fix."""
    problems = []
    for entry in security.tmpfs:
        if not entry.startswith("/") or any(char.isspace() for char in entry):
            problems.append("container.tmpfs entries must be '<absolute path>:<mount options>' (got %r)" % entry)
    if security.read_only and CONTAINER_LOGS_DIR not in _tmpfs_paths(security):
        problems.append("container.read_only needs a container.tmpfs entry for %s, where Certbot writes its logs"
                        % CONTAINER_LOGS_DIR)
    if not re.fullmatch(r"([0-9]+[bkmgBKMG]?)?", security.memory):
        problems.append("container.memory must be a size such as 256m, or empty or 0 for no limit (got %r)" % security.memory)
    return problems


def security_args(security: ContainerSecurity, *, publishes_port_80: bool = False) -> list[str]:
    """The ``docker run`` options that confine a Certbot container."""
    argv: list[str] = []
    if security.read_only:
        argv.append("--read-only")
    for entry in security.tmpfs:
        argv += ["--tmpfs", entry]
    for capability in security.cap_drop:
        argv += ["--cap-drop", capability]
    cap_add = list(security.cap_add)
    dropped_all = any(capability.upper() == "ALL" for capability in security.cap_drop)
    if publishes_port_80 and dropped_all and not any(c.upper() in ("NET_BIND_SERVICE", "CAP_NET_BIND_SERVICE", "ALL")
                                                     for c in cap_add):
        # Standalone: Certbot binds port 80 itself (Docker 20.10 and later open low ports to every container user
        # anyway; older engines do not).
        cap_add.append("NET_BIND_SERVICE")
    for capability in cap_add:
        argv += ["--cap-add", capability]
    if security.no_new_privileges:
        argv += ["--security-opt", "no-new-privileges"]
    if security.pids_limit > 0:
        argv += ["--pids-limit", str(security.pids_limit)]
    if security.memory not in ("", "0"):
        argv += ["--memory", security.memory]
    return argv


@dataclass(frozen=True)
class CertbotRequest:
    """What to ask for, the same for staging and production."""

    cert_name: str
    domains: tuple[str, ...]
    email: str | None = None
    challenge: str = "webroot"
    webroot: str = DEFAULT_WEBROOT
    key_type: str = "ecdsa"
    image: str = DEFAULT_IMAGE
    ca_bundle: str | None = None
    docker_network: str | None = None
    # An ACME profile name (Let's Encrypt: classic, tlsserver, shortlived); None for the CA's default.
    profile: str | None = None
    # DNS-01 (challenge dns-rfc2136): the host file with the RFC 2136 server and TSIG key (Certbot's plugin's
    # credentials INI), and how long Certbot waits after the update before the CA validates.
    dns_credentials: str | None = None
    dns_propagation_seconds: int = DEFAULT_DNS_PROPAGATION_SECONDS
    container: ContainerSecurity = ContainerSecurity()


@dataclass(frozen=True)
class AcmeTarget:
    """One ACME directory and the host directories that hold its certbot state."""

    stage: str
    directory: str
    config_dir: str
    work_dir: str

    def live_dir(self, cert_name: str) -> str:
        return live_dir(self.config_dir, cert_name)

    def renewal_conf(self, cert_name: str) -> str:
        return os.path.join(self.config_dir, "renewal", cert_name + ".conf")

    def lineage_exists(self, cert_name: str) -> bool:
        # certbot knows a lineage by its renewal configuration, not by the live directory.
        return os.path.exists(self.renewal_conf(cert_name))


def staging_path(path: str) -> str:
    """``/etc/letsencrypt`` -> ``/etc/letsencrypt-staging``: staging state never shares a directory."""
    return path.rstrip("/") + "-staging"


def acme_targets(
    *,
    staging_directory: str,
    production_directory: str,
    config_dir: str,
    work_dir: str,
    staging_config_dir: str | None = None,
) -> tuple[AcmeTarget, AcmeTarget]:
    """The staging and production targets, in the order they must run."""
    staging_config = staging_config_dir or staging_path(config_dir)
    if os.path.normpath(staging_config) == os.path.normpath(config_dir):
        raise ParameterError(
            "staging_config_dir must differ from config_dir (%s), or a staging certificate could land"
            " in the production lineage" % config_dir
        )
    if staging_directory.rstrip("/") == production_directory.rstrip("/"):
        raise ParameterError(
            "staging_directory and production_directory are the same (%s); staging must be a"
            " different CA so its certificates can be told apart" % staging_directory
        )
    return (
        AcmeTarget("staging", staging_directory, staging_config, staging_path(work_dir)),
        AcmeTarget("production", production_directory, config_dir, work_dir),
    )


_CONTAINER_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")


def container_name(cert_name: str, stage: str) -> str:
    """``certbot-<name>-<stage>``: a second concurrent run for the same lineage fails fast."""
    return "certbot-%s-%s" % (_CONTAINER_NAME_UNSAFE.sub("-", cert_name).strip("-.") or "cert", stage)


def _docker_options(request: CertbotRequest, target: AcmeTarget) -> list[str]:
    argv = ["--name", container_name(request.cert_name, target.stage)]
    if request.docker_network:
        argv += ["--network", request.docker_network]
    argv += security_args(request.container, publishes_port_80=request.challenge == "standalone")
    argv += [
        "-v", "%s:%s" % (target.config_dir, CONTAINER_CONFIG_DIR),
        "-v", "%s:%s" % (target.work_dir, CONTAINER_WORK_DIR),
    ]
    if request.challenge == "webroot":
        # Same path inside and out, so certbot's renewal conf names the real host webroot.
        argv += ["-v", "%s:%s" % (request.webroot, request.webroot)]
    elif request.challenge == "dns-rfc2136":
        # Same path inside and out: the renewal conf keeps the path, and the renewal job mounts it there too.
        argv += ["-v", "%s:%s:ro" % (request.dns_credentials, request.dns_credentials)]
    else:
        argv += ["-p", "80:80"]
    if request.ca_bundle:
        argv += [
            "-v", "%s:%s:ro" % (request.ca_bundle, CONTAINER_CA_BUNDLE),
            "-e", "REQUESTS_CA_BUNDLE=%s" % CONTAINER_CA_BUNDLE,
        ]
    return argv


def _certbot_args(request: CertbotRequest, target: AcmeTarget, *, lineage_exists: bool) -> list[str]:
    argv = ["certonly", "--non-interactive", "--agree-tos"]
    if request.email:
        argv += ["--email", request.email]
    else:
        argv += ["--register-unsafely-without-email"]
    argv += ["--server", target.directory, "--cert-name", request.cert_name]
    for domain in request.domains:
        argv += ["-d", domain]
    argv += ["--key-type", request.key_type]
    if request.profile:
        # Required, not preferred: a CA without the profile fails the order instead of silently issuing its
        # default. Certbot keeps it in the lineage's renewal configuration, so `certbot renew` asks again.
        argv += ["--required-profile", request.profile]
    argv += challenge_args(request)
    if lineage_exists:
        # Our decision is authoritative: without this certbot keeps a cert it thinks is fine.
        argv += ["--force-renewal"]
    return argv


def challenge_args(request: CertbotRequest) -> list[str]:
    """Certbot's authenticator options; it keeps them in the lineage's renewal configuration."""
    if request.challenge == "webroot":
        return ["--webroot", "-w", request.webroot]
    if request.challenge == "dns-rfc2136":
        return ["--authenticator", "dns-rfc2136", "--dns-rfc2136-credentials", str(request.dns_credentials),
                "--dns-rfc2136-propagation-seconds", str(request.dns_propagation_seconds)]
    return ["--standalone"]


def build_certbot_argv(
    request: CertbotRequest,
    target: AcmeTarget,
    *,
    lineage_exists: bool,
    docker: str = "docker",
) -> list[str]:
    """The full ``docker run --rm ... IMAGE certonly ...`` argv for one stage."""
    if request.challenge not in CHALLENGES:
        raise ParameterError("challenge must be one of %s, got %s" % (", ".join(CHALLENGES), request.challenge))
    if request.key_type not in KEY_TYPES:
        raise ParameterError("key_type must be one of %s, got %s" % (", ".join(KEY_TYPES), request.key_type))
    if request.challenge == "dns-rfc2136" and not request.dns_credentials:
        raise ParameterError("challenge dns-rfc2136 needs dns_credentials, the RFC 2136 credentials file")
    problems = security_problems(request.container)
    if problems:
        raise ParameterError("; ".join(problems))
    wildcards = [domain for domain in request.domains if domain.startswith("*.")]
    if wildcards and request.challenge != "dns-rfc2136":
        raise ParameterError("%s: a wildcard name can only be validated over DNS; set challenge to dns-rfc2136"
                             % ", ".join(wildcards))
    return (
        [docker, "run", "--rm"]
        + _docker_options(request, target)
        + [request.image]
        + _certbot_args(request, target, lineage_exists=lineage_exists)
    )


# --------------------------------------------------------------------------------------------
# Running staging, then production


Runner = t.Callable[[t.List[str]], t.Tuple[int, str, str]]


@dataclass(frozen=True)
class IssueOutcome:
    staging: CertificateSummary
    production: CertificateSummary
    commands: tuple[tuple[str, ...], ...]


def host_path_problems(request: CertbotRequest) -> list[str]:
    """Host paths that must exist before certbot runs, named with the option to fix."""
    problems = []
    if request.challenge == "webroot" and not os.path.isdir(request.webroot):
        problems.append(
            "webroot %s is not a directory on this host; create it and serve it at"
            " http://%s/.well-known/acme-challenge/" % (request.webroot, request.domains[0])
        )
    if request.challenge == "dns-rfc2136" and request.dns_credentials and not os.path.isfile(request.dns_credentials):
        problems.append("dns_credentials %s is not a file on this host" % request.dns_credentials)
    if request.ca_bundle and not os.path.isfile(request.ca_bundle):
        problems.append("ca_bundle %s is not a file on this host" % request.ca_bundle)
    return problems


def _stage_argv(request: CertbotRequest, target: AcmeTarget, *, docker: str) -> list[str]:
    exists = target.lineage_exists(request.cert_name)
    return build_certbot_argv(request, target, lineage_exists=exists, docker=docker)


def planned_commands(
    request: CertbotRequest, targets: t.Sequence[AcmeTarget], *, docker: str = "docker"
) -> list[list[str]]:
    """The argv lists an issuance would run now, in order (check mode reports these)."""
    return [_stage_argv(request, target, docker=docker) for target in targets]


def _run_stage(
    request: CertbotRequest, target: AcmeTarget, *, run: Runner, docker: str
) -> tuple[list[str], CertificateSummary]:
    argv = _stage_argv(request, target, docker=docker)
    rc, stdout, stderr = run(argv)
    if rc != 0:
        explanation = explain_failure(rc=rc, stdout=stdout, stderr=stderr)
        raise CertbotRunError(target.stage, explanation.reason, rc=rc, tail=explanation.tail)
    lineage = inspect_lineage(target.live_dir(request.cert_name))
    if lineage.certificate is None:
        problem = lineage.read_error or lineage.fullchain + " is missing"
        raise CertbotRunError(target.stage, "certbot exited 0 but left no readable certificate: %s" % problem, rc=rc)
    if lineage.key_problem is not None:
        raise CertbotRunError(
            target.stage,
            "certbot exited 0 but %s does not match the certificate: %s" % (lineage.privkey, lineage.key_problem),
            rc=rc,
        )
    return argv, lineage.certificate


def obtain_certificate(
    request: CertbotRequest,
    targets: t.Sequence[AcmeTarget],
    *,
    run: Runner,
    staging_issuers: t.Collection[str] = (),
    docker: str = "docker",
) -> IssueOutcome:
    """Run staging, then production; a failed stage raises before the next one starts."""
    staging_target, production_target = targets
    staging_argv, staging_cert = _run_stage(request, staging_target, run=run, docker=docker)
    production_argv, production_cert = _run_stage(request, production_target, run=run, docker=docker)
    known = set(staging_issuers) | staging_issuer_names(staging_cert)
    if is_staging_issuer(production_cert, known):
        # Otherwise every later run would see a staging issuer and request again, forever.
        raise CertbotRunError(
            production_target.stage,
            "the production directory %s issued a certificate from the staging issuer %s;"
            " check production_directory" % (production_target.directory, production_cert.issuer),
        )
    return IssueOutcome(
        staging=staging_cert,
        production=production_cert,
        commands=(tuple(staging_argv), tuple(production_argv)),
    )
