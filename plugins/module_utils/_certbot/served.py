# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The certificate a TLS server presents, and how much of its lifetime is left (djangoops.fleet.served_certificate).

The connection is made with the name (SNI) and without verification: what is served matters here, whether a
client would trust it is the client's business (and a staging or expired certificate must still be seen).
"""

from __future__ import annotations

import datetime
import socket
import ssl
import typing as t
from dataclasses import dataclass

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.lineage import (
    CertificateSummary,
    certificate_domains,
    iso,
    summarize_certificate,
    to_utc,
)

try:
    from cryptography import x509
except ImportError:  # the module reports the missing library
    pass


def presented_certificate(address: str, port: int, server_name: str, *, timeout: float = 10.0) -> bytes:
    """The DER leaf the server presents for ``server_name``; OSError or ValueError when none."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    if not der:
        raise ValueError("the server presented no certificate")
    return der


@dataclass(frozen=True)
class ServedState:
    certificate: CertificateSummary
    lifetime_left: float  # fraction of the lifetime left at ``now`` (negative once expired)

    def view(self) -> dict[str, t.Any]:
        return {
            "serial": self.certificate.serial,
            "issuer": self.certificate.issuer,
            "not_before": iso(self.certificate.not_before),
            "not_after": iso(self.certificate.not_after),
            "domains": sorted(certificate_domains(self.certificate)),
            "lifetime_left": round(self.lifetime_left, 4),
        }


def served_state(der: bytes, now: datetime.datetime) -> ServedState:
    summary = summarize_certificate(x509.load_der_x509_certificate(der))
    lifetime = (summary.not_after - summary.not_before).total_seconds()
    left = (summary.not_after - to_utc(now)).total_seconds()
    return ServedState(summary, left / lifetime if lifetime > 0 else 0.0)


def expiry_warning(state: ServedState, *, where: str, warn_below: float, now: datetime.datetime) -> str | None:
    """A sentence for the operator when less than ``warn_below`` of the lifetime is left; None otherwise."""
    certificate = state.certificate
    if state.lifetime_left <= 0:
        return "%s serves a certificate (serial %s) that expired at %s; check the renewal job there" % (
            where, certificate.serial, iso(certificate.not_after))
    if state.lifetime_left >= warn_below:
        return None
    hours = (certificate.not_after - to_utc(now)).total_seconds() / 3600
    return (
        "%s serves a certificate (serial %s) that expires at %s, in %.1f hours: %.0f%% of its lifetime left, below"
        " %.0f%%; it should have been renewed by now, check the renewal job there (journalctl -u"
        " djangoops-certbot-renew, or the webhook and metrics)" % (
            where, certificate.serial, iso(certificate.not_after), hours, state.lifetime_left * 100, warn_below * 100)
    )
