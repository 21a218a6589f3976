# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""A Certbot lineage on disk, as djangoops.fleet.certbot_certificate sees it.

Reads ``fullchain.pem`` into a CertificateSummary (never PEM or key material), checks that
``privkey.pem`` belongs to it, and tells certificates of a staging CA by their issuer.
The only part of the package that needs the ``cryptography`` library.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import traceback
import typing as t
from dataclasses import dataclass

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.errors import CertificateReadError
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.renewal import ari_certificate_id

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


# Let's Encrypt names its staging hierarchy "(STAGING) ..." (older: "Fake LE ..."). A
# certificate from such an issuer in the production lineage must be replaced.
STAGING_ISSUER_MARKERS = ("(STAGING)", "Fake LE")


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
    # RFC 9773 identifier (AKI key id . serial) to ask the CA when to renew; None without a key identifier.
    ari_id: str | None = None


_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----", re.DOTALL
)


def to_utc(value: datetime.datetime) -> datetime.datetime:
    """``value`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def iso(value: datetime.datetime) -> str:
    """How reasons, results and diffs show a certificate's dates: ISO 8601 in UTC."""
    return to_utc(value).isoformat()


def normalize_domain(domain: str) -> str:
    return domain.strip().rstrip(".").lower()


def _common_name(name: t.Any) -> str | None:
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attributes:
        return None
    value = attributes[0].value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _validity(cert: t.Any) -> tuple[datetime.datetime, datetime.datetime]:
    # cryptography >= 42 has the *_utc properties; older ones return naive UTC datetimes.
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    return to_utc(cert.not_valid_before), to_utc(cert.not_valid_after)


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
        ari_id=_ari_id(cert),
    )


def _ari_id(cert: t.Any) -> str | None:
    try:
        return ari_certificate_id(cert)
    except ValueError:
        return None


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


def certificate_domains(certificate: CertificateSummary) -> tuple[str, ...]:
    # Certificates without a SAN are legacy; their CN is then the only name.
    if certificate.domains:
        return certificate.domains
    return (certificate.subject_cn,) if certificate.subject_cn else ()


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


def _renewal_param(renewal_conf: str, key: str) -> str | None:
    try:
        with open(renewal_conf, encoding="utf-8") as handle:
            match = re.search(r"^\s*%s\s*=\s*(\S+)\s*$" % re.escape(key), handle.read(), re.MULTILINE)
    except OSError:
        return None
    return match.group(1) if match else None


def renewal_profile(renewal_conf: str) -> str | None:
    """The ACME profile Certbot keeps for a lineage (``required_profile`` in its renewal configuration)."""
    return _renewal_param(renewal_conf, "required_profile")


def renewal_authenticator(renewal_conf: str) -> str | None:
    """How Certbot validates the lineage on renewal (``authenticator``: webroot, standalone, dns-rfc2136)."""
    return _renewal_param(renewal_conf, "authenticator")
