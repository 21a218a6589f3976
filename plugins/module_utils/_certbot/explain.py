# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Certbot failures in plain words, for djangoops.fleet.certbot_certificate.

Turns a failed ``docker run ... certonly`` (its exit code, stdout and stderr) into one sentence
that names the domain and the fix, plus the last lines of the output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


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
