# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Certificates for the _certbot tests, built with cryptography: CAs, leaves and Certbot lineages on disk.

Dates are fixed around NOW, so the expected values in the tests are written out, not computed.
"""

from __future__ import annotations

import datetime
import os
import typing as t

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
DAY = datetime.timedelta(days=1)
DOMAINS = ("shop.example.test", "www.shop.example.test")


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
