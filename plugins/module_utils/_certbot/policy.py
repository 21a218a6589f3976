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
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.renewal import (
    DEFAULT_FRACTION,
    DEFAULT_SHORT_LIVED_FRACTION,
    AriAnswer,
    RenewalPlan,
    lifetime_renewal_time,
    plan_renewal,
)
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.lineage import (
    CertificateSummary,
    LineageState,
    certificate_domains,
    is_staging_issuer,
    iso,
    normalize_domain,
)


ACTION_ISSUE = "issue"
ACTION_NONE = "none"


@dataclass(frozen=True)
class RenewalPolicy:
    """Without a usable ARI window: renew when less than ``fraction`` of the lifetime remains
    (``short_lived_fraction`` for certificates under 10 days), or fewer than ``days`` days."""

    fraction: float | None = None
    days: int | None = None
    short_lived_fraction: float = DEFAULT_SHORT_LIVED_FRACTION

    @classmethod
    def from_options(
        cls,
        *,
        fraction: float | None = None,
        days: int | None = None,
        short_lived_fraction: float | None = None,
    ) -> RenewalPolicy:
        if fraction is not None and days is not None:
            raise ParameterError("set renew_before or renew_before_days, not both")
        short = DEFAULT_SHORT_LIVED_FRACTION if short_lived_fraction is None else short_lived_fraction
        if not 0 < short < 1:
            raise ParameterError(
                "renew_before_short_lived is a fraction of the certificate lifetime and must be between 0 and 1"
                " (exclusive), got %s" % short
            )
        if days is not None:
            if days < 1:
                raise ParameterError("renew_before_days must be at least 1, got %s" % days)
            return cls(days=days, short_lived_fraction=short)
        if fraction is None:
            return cls(fraction=DEFAULT_FRACTION, short_lived_fraction=short)
        if not 0 < fraction < 1:
            raise ParameterError(
                "renew_before is a fraction of the certificate lifetime and must be between 0 and 1"
                " (exclusive), got %s; use renew_before_days for a number of days" % fraction
            )
        return cls(fraction=fraction, short_lived_fraction=short)

    def renew_at(self, certificate: CertificateSummary) -> datetime.datetime:
        """The lifetime rule alone (no ARI)."""
        if self.days is not None:
            return certificate.not_after - datetime.timedelta(days=self.days)
        return lifetime_renewal_time(
            certificate.not_before,
            certificate.not_after,
            fraction=DEFAULT_FRACTION if self.fraction is None else self.fraction,
            short_lived_fraction=self.short_lived_fraction,
        )

    def plan(self, certificate: CertificateSummary, ari: AriAnswer | None) -> RenewalPlan:
        """The CA's ARI window where usable, else the lifetime rule (renewal.plan_renewal)."""
        return plan_renewal(
            certificate.not_before,
            certificate.not_after,
            certificate_id=certificate.ari_id or certificate.serial,
            ari=ari,
            lifetime_at=self.renew_at(certificate),
        )


def domain_difference(requested: t.Iterable[str], present: t.Iterable[str]) -> tuple[list[str], list[str]]:
    """Return (missing, extra): requested names absent from the certificate, and the reverse."""
    wanted = {normalize_domain(d) for d in requested}
    have = {normalize_domain(d) for d in present}
    return sorted(wanted - have), sorted(have - wanted)


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str
    renew_at: datetime.datetime | None = None

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
    profile: str | None = None,
    stored_profile: str | None = None,
    challenge: str | None = None,
    stored_challenge: str | None = None,
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
    if (profile or None) != (stored_profile or None):
        return "profile changed: %s -> %s" % (stored_profile or "the CA's default", profile or "the CA's default")
    if challenge and stored_challenge and challenge != stored_challenge:
        # The renewal job renews as the lineage says; only a new order writes the new way into it.
        return "challenge changed: %s -> %s" % (stored_challenge, challenge)
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
    ari: t.Callable[[CertificateSummary], AriAnswer | None] | None = None,
    profile: str | None = None,
    stored_profile: str | None = None,
    challenge: str | None = None,
    stored_challenge: str | None = None,
) -> Decision:
    """Decide whether the production lineage needs a new certificate at ``now``.

    ``ari`` asks the CA for the certificate's renewal window; it is called only for a certificate that is
    otherwise fine, so a missing or broken one costs no request.
    """
    problem = _problem(
        lineage,
        domains=domains,
        staging_issuers=staging_issuers,
        key_type=key_type,
        profile=profile,
        stored_profile=stored_profile,
        challenge=challenge,
        stored_challenge=stored_challenge,
    )
    if problem is not None:
        return Decision(ACTION_ISSUE, problem)
    certificate = t.cast(CertificateSummary, lineage.certificate)
    plan = policy.plan(certificate, ari(certificate) if ari is not None and not force else None)
    if plan.due(now):
        return Decision(
            ACTION_ISSUE,
            "renewal due (expires %s; due from %s, %s)" % (iso(certificate.not_after), iso(plan.renew_at), plan.note),
        )
    if force:
        return Decision(ACTION_ISSUE, "forced")
    return Decision(
        ACTION_NONE,
        "certificate is valid until %s (renewal due from %s; %s)"
        % (iso(certificate.not_after), iso(plan.renew_at), plan.note),
        renew_at=plan.renew_at,
    )
