# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Whether djangoops.fleet.certbot_certificate must request a certificate, and why.

Takes the production lineage as read from disk, the requested domains, the issuers known to be
staging CAs and a renewal policy; the clock is an argument (``now``).
"""

from __future__ import annotations

import datetime
import typing as t
from dataclasses import dataclass

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.errors import ParameterError
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.lineage import (
    CertificateSummary,
    LineageState,
    certificate_domains,
    is_staging_issuer,
    iso,
    normalize_domain,
    to_utc,
)


DEFAULT_RENEW_FRACTION = 1.0 / 3.0

ACTION_ISSUE = "issue"
ACTION_NONE = "none"


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


def domain_difference(requested: t.Iterable[str], present: t.Iterable[str]) -> tuple[list[str], list[str]]:
    """Return (missing, extra): requested names absent from the certificate, and the reverse."""
    wanted = {normalize_domain(d) for d in requested}
    have = {normalize_domain(d) for d in present}
    return sorted(wanted - have), sorted(have - wanted)


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
    if to_utc(now) >= renew_at:
        return Decision(ACTION_ISSUE, "renewal due (expires %s)" % iso(certificate.not_after))
    if force:
        return Decision(ACTION_ISSUE, "forced")
    return Decision(
        ACTION_NONE,
        "certificate is valid until %s (renewal due from %s)" % (iso(certificate.not_after), iso(renew_at)),
    )
