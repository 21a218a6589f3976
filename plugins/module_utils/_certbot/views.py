# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What djangoops.fleet.certbot_certificate shows of a certificate in its results and diffs.

Serial, issuer, expiry and domains only: never PEM data or key material.
"""

from __future__ import annotations

import typing as t

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.lineage import (
    CertificateSummary,
    certificate_domains,
    iso,
    normalize_domain,
)


def certificate_view(certificate: CertificateSummary | None) -> dict[str, t.Any]:
    """The parts of a certificate that diff and results show; {} when there is none."""
    if certificate is None:
        return {}
    return {
        "serial": certificate.serial,
        "issuer": certificate.issuer,
        "not_after": iso(certificate.not_after),
        "domains": sorted(normalize_domain(d) for d in certificate_domains(certificate)),
    }


def planned_view(domains: t.Iterable[str], *, directory: str) -> dict[str, t.Any]:
    """What check mode expects after issuance: serial and expiry are unknown until the CA answers."""
    return {
        "serial": None,
        "issuer": "(to be issued by %s)" % directory,
        "not_after": None,
        "domains": sorted({normalize_domain(d) for d in domains}),
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
