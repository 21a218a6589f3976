# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Logic of djangoops.fleet.certbot_certificate, kept free of AnsibleModule.

Reads a Certbot lineage, decides whether a certificate must be requested, builds the
``docker run`` argv for the staging and the production ACME directory, and explains
Certbot failures in plain words. The clock is an argument (``now``) everywhere.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import traceback
import typing as t
from dataclasses import dataclass

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None


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

# Let's Encrypt names its staging hierarchy "(STAGING) ..." (older: "Fake LE ..."). A
# certificate from such an issuer in the production lineage must be replaced.
STAGING_ISSUER_MARKERS = ("(STAGING)", "Fake LE")

DEFAULT_RENEW_FRACTION = 1.0 / 3.0
CHALLENGES = ("webroot", "standalone")
KEY_TYPES = ("ecdsa", "rsa")

ACTION_ISSUE = "issue"
ACTION_NONE = "none"


class CertbotError(Exception):
    """Base of this concern's errors; messages name the culprit (file, domain, option) and the fix."""


class CertificateReadError(CertbotError):
    """A certificate file exists but cannot be used: unreadable, empty or not a PEM certificate."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__("%s: %s" % (path, problem))


class ParameterError(CertbotError):
    """An option value that cannot work; the message names the option."""


# --------------------------------------------------------------------------------------------
# Reading certificates and keys


@dataclass(frozen=True)
class CertificateSummary:
    """What the module needs to know about a leaf certificate; never PEM or key material."""

    subject_cn: str | None
    domains: tuple[str, ...]
    issuer: str
    issuer_cn: str | None
    serial: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    public_key_fingerprint: str
    key_type: str


_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL
)


def _common_name(name: t.Any) -> str | None:
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attributes:
        return None
    value = attributes[0].value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def _validity(cert: t.Any) -> tuple[datetime.datetime, datetime.datetime]:
    # cryptography >= 42 has the *_utc properties; older ones return naive UTC datetimes.
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    return _utc(cert.not_valid_before), _utc(cert.not_valid_after)


def _san_dns_names(cert: t.Any) -> tuple[str, ...]:
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    return tuple(extension.value.get_values_for_type(x509.DNSName))


def _public_key_der(public_key: t.Any) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _key_type(public_key: t.Any) -> str:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "ecdsa"
    if isinstance(public_key, rsa.RSAPublicKey):
        return "rsa"
    return type(public_key).__name__


def summarize_certificate(cert: t.Any) -> CertificateSummary:
    """Turn a cryptography ``x509.Certificate`` into a CertificateSummary."""
    not_before, not_after = _validity(cert)
    public_key = cert.public_key()
    return CertificateSummary(
        subject_cn=_common_name(cert.subject),
        domains=_san_dns_names(cert),
        issuer=cert.issuer.rfc4514_string(),
        issuer_cn=_common_name(cert.issuer),
        serial="%x" % cert.serial_number,
        not_before=not_before,
        not_after=not_after,
        public_key_fingerprint=_fingerprint(_public_key_der(public_key)),
        key_type=_key_type(public_key),
    )


def _read_bytes(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise CertificateReadError(path, "cannot read the %s (%s)" % (what, exc.strerror or exc))


def read_certificate(path: str) -> CertificateSummary:
    """Summarize the first certificate of a PEM file (for a fullchain: the leaf).

    Raises CertificateReadError naming the file when it is unreadable, empty or no certificate.
    """
    data = _read_bytes(path, "certificate")
    if not data.strip():
        raise CertificateReadError(path, "the file is empty")
    match = _PEM_CERTIFICATE.search(data)
    if match is None:
        raise CertificateReadError(path, "no PEM certificate (-----BEGIN CERTIFICATE-----) found")
    try:
        cert = x509.load_pem_x509_certificate(match.group(0))
    except ValueError as exc:
        raise CertificateReadError(path, "not a valid PEM certificate (%s)" % exc)
    return summarize_certificate(cert)


def private_key_problem(path: str, certificate: CertificateSummary) -> str | None:
    """Return why the private key at ``path`` cannot serve ``certificate``, or None if it matches."""
    try:
        data = _read_bytes(path, "private key")
    except CertificateReadError as exc:
        return exc.problem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        # TypeError: the key is encrypted; certbot never writes encrypted keys.
        return "the private key cannot be loaded (%s)" % (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm for odd key types
        return "the private key cannot be loaded (%s)" % type(exc).__name__
    if _fingerprint(_public_key_der(key.public_key())) != certificate.public_key_fingerprint:
        return "its public key differs from the certificate's"
    return None


@dataclass(frozen=True)
class LineageState:
    """One certbot lineage on disk (``<config_dir>/live/<name>``) as the decision sees it."""

    fullchain: str
    privkey: str
    certificate: CertificateSummary | None = None
    read_error: str | None = None
    key_problem: str | None = None

    @property
    def present(self) -> bool:
        """A certificate file exists, readable or not."""
        return self.certificate is not None or self.read_error is not None


def live_dir(config_dir: str, cert_name: str) -> str:
    return os.path.join(config_dir, "live", cert_name)


def inspect_lineage(live_path: str) -> LineageState:
    """Read ``fullchain.pem`` and check ``privkey.pem`` of one live lineage directory."""
    fullchain = os.path.join(live_path, "fullchain.pem")
    privkey = os.path.join(live_path, "privkey.pem")
    # lexists: a dangling certbot symlink is a broken lineage, not a missing one.
    if not os.path.lexists(fullchain):
        return LineageState(fullchain=fullchain, privkey=privkey)
    try:
        certificate = read_certificate(fullchain)
    except CertificateReadError as exc:
        return LineageState(fullchain=fullchain, privkey=privkey, read_error=str(exc))
    return LineageState(
        fullchain=fullchain,
        privkey=privkey,
        certificate=certificate,
        key_problem=private_key_problem(privkey, certificate),
    )


# --------------------------------------------------------------------------------------------
# Deciding


def staging_issuer_names(*certificates: CertificateSummary | None) -> frozenset[str]:
    """Issuer names (RFC 4514 and CN) of certificates known to come from the staging CA."""
    names = set()
    for certificate in certificates:
        if certificate is None:
            continue
        names.add(certificate.issuer)
        if certificate.issuer_cn:
            names.add(certificate.issuer_cn)
    return frozenset(names)


def is_staging_issuer(certificate: CertificateSummary, staging_issuers: t.Collection[str]) -> bool:
    if certificate.issuer in staging_issuers or certificate.issuer_cn in staging_issuers:
        return True
    return any(marker in certificate.issuer for marker in STAGING_ISSUER_MARKERS)


@dataclass(frozen=True)
class RenewalPolicy:
    """Renew when less than ``fraction`` of the lifetime, or fewer than ``days`` days, remain."""

    fraction: float | None = None
    days: int | None = None

    @classmethod
    def from_options(cls, *, fraction: float | None = None, days: int | None = None) -> RenewalPolicy:
        if fraction is not None and days is not None:
            raise ParameterError("set renew_before or renew_before_days, not both")
        if days is not None:
            if days < 1:
                raise ParameterError("renew_before_days must be at least 1, got %s" % days)
            return cls(days=days)
        if fraction is None:
            return cls(fraction=DEFAULT_RENEW_FRACTION)
        if not 0 < fraction < 1:
            raise ParameterError(
                "renew_before is a fraction of the certificate lifetime and must be between 0 and 1"
                " (exclusive), got %s; use renew_before_days for a number of days" % fraction
            )
        return cls(fraction=fraction)

    def renew_at(self, certificate: CertificateSummary) -> datetime.datetime:
        if self.days is not None:
            return certificate.not_after - datetime.timedelta(days=self.days)
        fraction = DEFAULT_RENEW_FRACTION if self.fraction is None else self.fraction
        lifetime = certificate.not_after - certificate.not_before
        return certificate.not_after - lifetime * fraction


def _normalize_domain(domain: str) -> str:
    return domain.strip().rstrip(".").lower()


def domain_difference(requested: t.Iterable[str], present: t.Iterable[str]) -> tuple[list[str], list[str]]:
    """Return (missing, extra): requested names absent from the certificate, and the reverse."""
    wanted = {_normalize_domain(d) for d in requested}
    have = {_normalize_domain(d) for d in present}
    return sorted(wanted - have), sorted(have - wanted)


def certificate_domains(certificate: CertificateSummary) -> tuple[str, ...]:
    # Certificates without a SAN are legacy; their CN is then the only name.
    if certificate.domains:
        return certificate.domains
    return (certificate.subject_cn,) if certificate.subject_cn else ()


def _iso(value: datetime.datetime) -> str:
    return _utc(value).isoformat()


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str

    @property
    def changed(self) -> bool:
        return self.action == ACTION_ISSUE


def _domains_reason(missing: list[str], extra: list[str]) -> str:
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("extra " + ", ".join(extra))
    return "domains changed: " + " / ".join(parts)


def _problem(
    lineage: LineageState,
    *,
    domains: t.Sequence[str],
    staging_issuers: t.Collection[str],
    key_type: str | None,
) -> str | None:
    """The first reason the production lineage cannot stay as it is, renewal aside."""
    if not lineage.present:
        return "no certificate"
    if lineage.certificate is None:
        return "unreadable certificate: %s" % lineage.read_error
    certificate = lineage.certificate
    if is_staging_issuer(certificate, staging_issuers):
        return "issued by a staging CA"
    missing, extra = domain_difference(domains, certificate_domains(certificate))
    if missing or extra:
        return _domains_reason(missing, extra)
    if lineage.key_problem is not None:
        return "private key does not match certificate"
    if key_type is not None and certificate.key_type != key_type:
        return "key type changed: %s -> %s" % (certificate.key_type, key_type)
    return None


def decide(
    lineage: LineageState,
    *,
    domains: t.Sequence[str],
    staging_issuers: t.Collection[str],
    policy: RenewalPolicy,
    now: datetime.datetime,
    force: bool = False,
    key_type: str | None = None,
) -> Decision:
    """Decide whether the production lineage needs a new certificate at ``now``."""
    problem = _problem(lineage, domains=domains, staging_issuers=staging_issuers, key_type=key_type)
    if problem is not None:
        return Decision(ACTION_ISSUE, problem)
    certificate = t.cast(CertificateSummary, lineage.certificate)
    renew_at = policy.renew_at(certificate)
    if _utc(now) >= renew_at:
        return Decision(ACTION_ISSUE, "renewal due (expires %s)" % _iso(certificate.not_after))
    if force:
        return Decision(ACTION_ISSUE, "forced")
    return Decision(
        ACTION_NONE,
        "certificate is valid until %s (renewal due from %s)" % (_iso(certificate.not_after), _iso(renew_at)),
    )


# --------------------------------------------------------------------------------------------
# Building the docker command


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
    argv += [
        "-v", "%s:%s" % (target.config_dir, CONTAINER_CONFIG_DIR),
        "-v", "%s:%s" % (target.work_dir, CONTAINER_WORK_DIR),
    ]
    if request.challenge == "webroot":
        # Same path inside and out, so certbot's renewal conf names the real host webroot.
        argv += ["-v", "%s:%s" % (request.webroot, request.webroot)]
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
    if request.challenge == "webroot":
        argv += ["--webroot", "-w", request.webroot]
    else:
        argv += ["--standalone"]
    if lineage_exists:
        # Our decision is authoritative: without this certbot keeps a cert it thinks is fine.
        argv += ["--force-renewal"]
    return argv


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
    return (
        [docker, "run", "--rm"]
        + _docker_options(request, target)
        + [request.image]
        + _certbot_args(request, target, lineage_exists=lineage_exists)
    )


# --------------------------------------------------------------------------------------------
# Explaining failures


@dataclass(frozen=True)
class FailureExplanation:
    reason: str
    tail: tuple[str, ...]


# certbot 1.x wrapped long details onto indented continuation lines; those belong to the detail.
_DOMAIN_PROBLEM = re.compile(
    r"Domain:\s*(?P<domain>\S+)\s*\n\s*Type:\s*(?P<type>\S+)\s*\n\s*Detail:[ \t]*"
    r"(?P<detail>[^\n]*(?:\n[ \t]+(?!Domain:|Type:|Detail:)\S[^\n]*)*)"
)
_CHALLENGE_HOST = re.compile(r"https?://(?P<host>[^/:\s]+)(?::\d+)?/\.well-known/acme-challenge/")
_LOOKUP_HOST = re.compile(r"looking up \S+ for (?P<host>[^\s;:]+)")
_RETRY_AFTER = re.compile(r"retry after (?P<when>.+?)(?::\s*see\s|\s*$)", re.MULTILINE | re.IGNORECASE)
_RATE_LIMITED = re.compile(
    r"rateLimited|too many (?:certificates|failed authorizations|new orders|registrations|requests)"
    r"|rate limit",
    re.IGNORECASE,
)
_DNS_PROBLEM = re.compile(r"DNS problem|NXDOMAIN|SERVFAIL|urn:ietf:params:acme:error:dns")
_UNREACHABLE = re.compile(
    r"Connection refused|Timeout during connect|Timeout after connect|connection timed out"
    r"|urn:ietf:params:acme:error:connection",
    re.IGNORECASE,
)


def _domain_reason(domain: str, kind: str, detail: str) -> str:
    if kind == "dns" or _DNS_PROBLEM.search(detail):
        return "DNS for %s does not point here" % domain
    if kind == "connection" or _UNREACHABLE.search(detail):
        return "port 80 on %s is unreachable from the CA" % domain
    if kind == "unauthorized" and re.search(r"\b404\b", detail):
        return "the webroot is not served at /.well-known/acme-challenge/ for %s" % domain
    return "%s: %s: %s" % (domain, kind, detail.strip())


def _per_domain_reasons(text: str) -> list[str]:
    reasons = []
    for match in _DOMAIN_PROBLEM.finditer(text):
        detail = " ".join(match.group("detail").split())
        reason = _domain_reason(match.group("domain"), match.group("type"), detail)
        if reason not in reasons:
            reasons.append(reason)
    return reasons


def _host_in(text: str) -> str:
    for pattern in (_CHALLENGE_HOST, _LOOKUP_HOST):
        match = pattern.search(text)
        if match:
            return match.group("host")
    return "the domain"


def _rate_limit_reason(text: str) -> str:
    match = _RETRY_AFTER.search(text)
    if match:
        return "rate limited; retry after %s" % match.group("when").strip().rstrip(",.")
    return "rate limited; retry later (see https://letsencrypt.org/docs/rate-limits/)"


def _general_reason(text: str) -> str | None:
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "TLS to the ACME server failed: set ca_bundle"
    if _RATE_LIMITED.search(text):
        return _rate_limit_reason(text)
    if _DNS_PROBLEM.search(text):
        return "DNS for %s does not point here" % _host_in(text)
    if _UNREACHABLE.search(text):
        return "port 80 on %s is unreachable from the CA" % _host_in(text)
    if "Cannot connect to the Docker daemon" in text:
        return "the Docker engine is not running on this host"
    if "is already in use by container" in text:
        return "another certbot container for this certificate is still running (docker name conflict)"
    if "pull access denied" in text or "manifest unknown" in text or "Unable to find image" in text:
        return "the certbot image cannot be pulled; check certbot_image and registry access"
    return None


def _tail(text: str, lines: int) -> tuple[str, ...]:
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return tuple(kept[-lines:])


def explain_failure(*, rc: int, stdout: str, stderr: str, tail_lines: int = 20) -> FailureExplanation:
    """Turn a failed certbot run into one short sentence plus the last lines of its output."""
    text = "%s\n%s" % (stdout or "", stderr or "")
    tail = _tail(text, tail_lines)
    domain_reasons = _per_domain_reasons(text)
    if domain_reasons:
        return FailureExplanation("; ".join(domain_reasons), tail)
    general = _general_reason(text)
    if general is not None:
        return FailureExplanation(general, tail)
    last = " / ".join(tail[-3:]) if tail else "no output"
    return FailureExplanation("certbot exited with %s: %s" % (rc, last), tail)


# --------------------------------------------------------------------------------------------
# Running staging, then production


class CertbotRunError(CertbotError):
    """A certbot stage failed; ``stage`` tells whether production was ever contacted."""

    def __init__(self, stage: str, reason: str, *, rc: int | None = None, tail: t.Sequence[str] = ()) -> None:
        self.stage = stage
        self.reason = reason
        self.rc = rc
        self.tail = tuple(tail)
        super().__init__("%s certificate request failed: %s" % (stage, reason))


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


# --------------------------------------------------------------------------------------------
# Reporting


def certificate_view(certificate: CertificateSummary | None) -> dict[str, t.Any]:
    """The parts of a certificate that diff and results show; {} when there is none."""
    if certificate is None:
        return {}
    return {
        "serial": certificate.serial,
        "issuer": certificate.issuer,
        "not_after": _iso(certificate.not_after),
        "domains": sorted(_normalize_domain(d) for d in certificate_domains(certificate)),
    }


def planned_view(domains: t.Iterable[str], *, directory: str) -> dict[str, t.Any]:
    """What check mode expects after issuance: serial and expiry are unknown until the CA answers."""
    return {
        "serial": None,
        "issuer": "(to be issued by %s)" % directory,
        "not_after": None,
        "domains": sorted({_normalize_domain(d) for d in domains}),
    }


def diff_summary(
    before: CertificateSummary | None,
    after: CertificateSummary | None,
    *,
    planned: dict[str, t.Any] | None = None,
) -> dict[str, dict[str, t.Any]]:
    """``{"before": ..., "after": ...}`` of certificate views; ``planned`` replaces a missing after."""
    after_view = certificate_view(after) if after is not None else dict(planned or {})
    return {"before": certificate_view(before), "after": after_view}
