# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""When a certificate is due for renewal: the CA's ARI window (RFC 9773) where it offers a usable one,
else a fraction of the lifetime; later on standby proxies, which renew only when the first ones could not.

Self-contained on purpose (the standard library, and ``cryptography`` for the certificate identifier): the
certbot role installs this very file on every proxy, where the renewal job runs it with the host's python3,
so djangoops.fleet.certbot_certificate and the timer decide alike. HTTP goes through an injected ``fetch``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import typing as t
from dataclasses import dataclass


# Below this lifetime a certificate counts as short-lived (Let's Encrypt's 6-day profile): it is renewed
# with a larger fraction of its lifetime left, as Certbot's own default does.
SHORT_LIVED = datetime.timedelta(days=10)
DEFAULT_FRACTION = 1.0 / 3.0
DEFAULT_SHORT_LIVED_FRACTION = 0.5

SOURCE_ARI = "ari"
SOURCE_LIFETIME = "lifetime"

# (status, headers with lower-case names, body); status 0 when no answer came.
Fetch = t.Callable[[str], t.Tuple[int, t.Mapping[str, str], bytes]]


def _utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def ari_certificate_id(certificate: t.Any) -> str:
    """RFC 9773 section 4.1: base64url(AKI keyIdentifier) "." base64url(DER serial number content).

    ``certificate`` is a cryptography ``x509.Certificate``; ValueError when it has no key identifier
    (every CA that offers ARI sets one).
    """
    from cryptography import x509  # only this function needs it; the rest runs anywhere

    try:
        extension = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        raise ValueError("the certificate has no authority key identifier, so ARI cannot name it")
    key_id = extension.value.key_identifier
    if not key_id:
        raise ValueError("the certificate's authority key identifier has no key identifier, so ARI cannot name it")
    serial = certificate.serial_number
    # Two's complement, big-endian, with a leading zero byte when the top bit is set (as DER encodes it).
    return _b64url(key_id) + "." + _b64url(serial.to_bytes(serial.bit_length() // 8 + 1, "big"))


@dataclass(frozen=True)
class RenewalWindow:
    """The CA's suggested renewal window for one certificate."""

    start: datetime.datetime
    end: datetime.datetime
    explanation_url: str | None = None


def _rfc3339(value: t.Any, field: str) -> datetime.datetime:
    if not isinstance(value, str):
        raise ValueError("suggestedWindow.%s is not a timestamp" % field)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python before 3.11 parses at most 6 fractional digits; CAs may send nanoseconds.
    if "." in text:
        head, rest = text.split(".", 1)
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[:min(digits, 6)].ljust(6, "0") + rest[digits:]
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("suggestedWindow.%s is not an RFC 3339 timestamp: %r" % (field, value))
    if parsed.tzinfo is None:
        raise ValueError("suggestedWindow.%s has no time zone: %r" % (field, value))
    return _utc(parsed)


def parse_renewal_info(body: bytes | str) -> RenewalWindow:
    """The window of a renewalInfo response body; ValueError when it is not one (RFC 9773 section 4.2)."""
    try:
        document = json.loads(body)
    except (TypeError, ValueError):
        raise ValueError("the renewalInfo answer is not JSON")
    window = document.get("suggestedWindow") if isinstance(document, dict) else None
    if not isinstance(window, dict):
        raise ValueError("the renewalInfo answer has no suggestedWindow")
    start, end = _rfc3339(window.get("start"), "start"), _rfc3339(window.get("end"), "end")
    if end <= start:
        raise ValueError("the suggested window ends before it starts")
    url = document.get("explanationURL")
    return RenewalWindow(start, end, url if isinstance(url, str) and url else None)


@dataclass(frozen=True)
class AriAnswer:
    """What asking the CA gave: a window, or why there is none (the lifetime rule applies then)."""

    window: RenewalWindow | None
    note: str


def directory_renewal_info_url(directory: t.Mapping[str, t.Any]) -> str | None:
    url = directory.get("renewalInfo")
    return url.rstrip("/") if isinstance(url, str) and url else None


def ask_renewal_info(directory: t.Mapping[str, t.Any], certificate_id: str, fetch: Fetch) -> AriAnswer:
    """GET <renewalInfo>/<id>; any failure is an answer without a window, never an exception."""
    base = directory_renewal_info_url(directory)
    if base is None:
        return AriAnswer(None, "the CA offers no ARI")
    try:
        status, _headers, body = fetch(base + "/" + certificate_id)
    except Exception as error:  # the CA being unreachable must not stop the decision
        return AriAnswer(None, "ARI request failed (%s)" % error)
    if status != 200:
        return AriAnswer(None, "ARI answered HTTP %s" % status)
    try:
        return AriAnswer(parse_renewal_info(body), "ARI window")
    except ValueError as error:
        return AriAnswer(None, "ARI answer unusable (%s)" % error)


def lifetime_renewal_time(
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    *,
    fraction: float = DEFAULT_FRACTION,
    short_lived_fraction: float = DEFAULT_SHORT_LIVED_FRACTION,
) -> datetime.datetime:
    """When less than ``fraction`` of the lifetime remains (``short_lived_fraction`` under 10 days)."""
    lifetime = _utc(not_after) - _utc(not_before)
    left = short_lived_fraction if lifetime < SHORT_LIVED else fraction
    return _utc(not_after) - lifetime * left


def window_point(window: RenewalWindow, key: str) -> datetime.datetime:
    """A point in [start, end) chosen by ``key`` (the certificate's ARI id): spread over the window as the
    RFC asks, yet the same on every proxy and every run, so standbys can wait relative to it."""
    share = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / float(1 << 64)
    return window.start + (window.end - window.start) * share


@dataclass(frozen=True)
class RenewalPlan:
    renew_at: datetime.datetime
    source: str
    note: str

    def due(self, now: datetime.datetime) -> bool:
        return _utc(now) >= self.renew_at


def plan_renewal(
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    *,
    certificate_id: str,
    ari: AriAnswer | None,
    fraction: float = DEFAULT_FRACTION,
    short_lived_fraction: float = DEFAULT_SHORT_LIVED_FRACTION,
    rank: int = 0,
    ranks: int = 1,
    lifetime_at: datetime.datetime | None = None,
) -> RenewalPlan:
    """When this proxy renews the certificate.

    The ARI window is followed when it ends before the certificate expires (a window that ends later
    cannot be the CA's intent: Pebble 2.6 suggests 2/3 of any lifetime +/- 24 h, so for lifetimes under
    about three days its windows end after expiry). A window already over means renew now (how a CA asks
    for early renewal, after a revocation say). Otherwise the lifetime rule applies (``lifetime_at`` when the
    caller has its own, a number of days before expiry say).

    Standby proxies (``rank`` 1 .. ``ranks`` - 1, in the order they take over) wait for the ones before
    them: rank r renews r/ranks of the way from that time to expiry, so every rank comes before expiry.
    """
    not_before, not_after = _utc(not_before), _utc(not_after)
    if lifetime_at is None:
        lifetime_at = lifetime_renewal_time(
            not_before, not_after, fraction=fraction, short_lived_fraction=short_lived_fraction
        )
    window = ari.window if ari is not None else None
    if window is not None and window.end <= not_after:
        base, source = window_point(window, certificate_id), SOURCE_ARI
        note = "ARI window %s .. %s" % (window.start.isoformat(), window.end.isoformat())
        if window.explanation_url:
            note += " (the CA explains: %s)" % window.explanation_url
    else:
        base, source = _utc(lifetime_at), SOURCE_LIFETIME
        if window is not None:
            note = "the ARI window ends after the certificate expires"
        else:
            note = ari.note if ari is not None else ""
        note = (note + "; " if note else "") + "by the certificate's lifetime"
    if rank > 0 and base < not_after:
        base += (not_after - base) * rank / max(ranks, rank + 1)
        note += "; standby %d of %d" % (rank, max(ranks - 1, rank))
    return RenewalPlan(base, source, note)
