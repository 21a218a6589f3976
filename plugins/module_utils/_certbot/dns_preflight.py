# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The DNS-01 preflight of djangoops.fleet.acme_dns_preflight, with dnspython.

Before a CA hears of an order: for each ACME challenge name, the DNS server takes a TSIG-signed RFC 2136
update adding one TXT value (as Certbot's rfc2136 plugin will), the servers the CA's resolver asks answer
it, and the value is deleted again (that value only: a challenge in flight at the same name stays).
"""

from __future__ import annotations

import secrets
import time
import typing as t
from dataclasses import dataclass, field

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype
    import dns.resolver
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
except ImportError:  # the module reports the missing library
    HAS_DNSPYTHON = False
else:
    HAS_DNSPYTHON = True

# Certbot's rfc2136 plugin accepts these (its default, HMAC-MD5, is not offered here).
ALGORITHMS = ("HMAC-SHA1", "HMAC-SHA224", "HMAC-SHA256", "HMAC-SHA384", "HMAC-SHA512")
TXT_TTL = 60


class PreflightError(Exception):
    """A step failed; the message says which name, which server and what to fix."""


def challenge_names(domains: t.Iterable[str]) -> list[str]:
    """``_acme-challenge.<name>`` for each name, a wildcard sharing its base name's, in order, once each."""
    names: list[str] = []
    for domain in domains:
        base = domain[2:] if domain.startswith("*.") else domain
        name = "_acme-challenge.%s." % base.rstrip(".").lower()
        if name not in names:
            names.append(name)
    return names


@dataclass(frozen=True)
class Server:
    """The RFC 2136 server and the TSIG key Certbot will use."""

    address: str
    port: int
    key_name: str
    key_secret: str
    key_algorithm: str = "HMAC-SHA512"
    timeout: float = 10.0

    def keyring(self) -> dict:
        try:
            return dns.tsigkeyring.from_text({self.key_name: self.key_secret})
        except Exception as error:  # binascii.Error, dns.exception.SyntaxError
            raise PreflightError("the TSIG key %s has a secret that is not base64 (%s)" % (self.key_name, error))

    def algorithm(self) -> dns.name.Name:
        return dns.name.from_text(self.key_algorithm.lower())


# The network calls, injected so the logic is tested without a DNS server.
Query = t.Callable[[t.Any, Server], t.Any]  # (a dns.message.Message, the server) -> the response


def tcp_query(message: dns.message.Message, server: Server) -> dns.message.Message:
    try:
        return dns.query.tcp(message, server.address, port=server.port, timeout=server.timeout)
    except dns.tsig.PeerError as error:
        raise PreflightError("%s:%d rejected the TSIG signature of key %s (%s): check the key name, secret and"
                             " algorithm" % (server.address, server.port, server.key_name, type(error).__name__))
    except (OSError, dns.exception.DNSException) as error:
        raise PreflightError("cannot reach the DNS server %s:%d over TCP (%s)" % (server.address, server.port, error))


def find_zone(name: str, server: Server, query: Query = tcp_query) -> str:
    """The zone ``name`` is in, as the server answers authoritatively (Certbot's plugin looks it up so)."""
    labels = dns.name.from_text(name)
    while len(labels) > 1:
        request = dns.message.make_query(labels, dns.rdatatype.SOA)
        request.flags &= ~dns.flags.RD
        response = query(request, server)
        if (response.rcode() == dns.rcode.NOERROR and response.flags & dns.flags.AA
                and any(rrset.rdtype == dns.rdatatype.SOA and rrset.name == labels for rrset in response.answer)):
            return labels.to_text()
        labels = labels.parent()
    raise PreflightError("the DNS server %s:%d is authoritative for no zone above %s: set the server to the primary"
                         " of the zone that holds the name" % (server.address, server.port, name))


def txt_update(zone: str, name: str, value: str, server: Server, *, add: bool) -> dns.update.UpdateMessage:
    """An update adding, or deleting, this one TXT value at ``name`` (never the whole set)."""
    update = dns.update.UpdateMessage(zone, keyring=server.keyring(), keyname=server.key_name,
                                      keyalgorithm=server.algorithm())
    if add:
        update.add(name, TXT_TTL, dns.rdatatype.TXT, '"%s"' % value)
    else:
        update.delete(name, dns.rdatatype.TXT, '"%s"' % value)
    return update


def send_update(update: dns.update.UpdateMessage, name: str, server: Server, query: Query = tcp_query) -> None:
    response = query(update, server)
    rcode = response.rcode()
    if rcode != dns.rcode.NOERROR:
        hint = {
            dns.rcode.REFUSED: "let key %s update TXT records at this name (BIND: update-policy { grant %s name %s TXT; })"
                               % (server.key_name, server.key_name, name),
            dns.rcode.NOTAUTH: "check the key name, secret and algorithm, or that the server is the zone's primary",
            dns.rcode.NOTZONE: "the name is not in the zone the server answered for",
        }.get(rcode, "see the DNS server's log")
        raise PreflightError("%s:%d refused the update of %s TXT (%s): %s"
                             % (server.address, server.port, name, dns.rcode.to_text(rcode), hint))


Lookup = t.Callable[[str], t.List[str]]


def resolver_lookup(nameservers: t.Sequence[str], port: int, timeout: float = 5.0) -> Lookup:
    """TXT values at a name, asked of these servers (the system's resolver when none)."""
    if nameservers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = list(nameservers)
        resolver.port = port
    else:
        resolver = dns.resolver.Resolver()
    resolver.lifetime = timeout
    resolver.cache = None

    def lookup(name: str) -> list[str]:
        try:
            answer = resolver.resolve(name, dns.rdatatype.TXT, raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers, dns.exception.Timeout):
            return []
        return [b"".join(rdata.strings).decode("ascii", "replace") for rdata in answer] if answer.rrset else []

    return lookup


@dataclass
class NameOutcome:
    name: str
    zone: str
    seen_after: float | None = None
    removed: bool = False


@dataclass
class Outcome:
    names: list[NameOutcome] = field(default_factory=list)


def run_preflight(
    domains: t.Sequence[str],
    server: Server,
    *,
    lookup: Lookup,
    wait: float,
    check_mode: bool = False,
    query: Query = tcp_query,
    sleep: t.Callable[[float], None] = time.sleep,
    clock: t.Callable[[], float] = time.monotonic,
    token: t.Callable[[], str] = lambda: "djangoops-preflight-" + secrets.token_urlsafe(24),
) -> Outcome:
    """Prove each challenge name can be published and is seen within ``wait`` seconds; PreflightError if not.

    In check mode only the zones are looked up (reads), nothing is updated.
    """
    outcome = Outcome()
    for name in challenge_names(domains):
        zone = find_zone(name, server, query)
        result = NameOutcome(name=name, zone=zone)
        outcome.names.append(result)
        if check_mode:
            continue
        value = token()
        send_update(txt_update(zone, name, value, server, add=True), name, server, query)
        try:
            started = clock()
            while value not in lookup(name):
                if clock() - started >= wait:
                    raise PreflightError(
                        "%s took the TXT record %s, but the servers the CA's resolver asks did not answer it within"
                        " %g s: let the zone's secondaries take updates sooner, or wait longer" % (server.address, name, wait))
                sleep(1.0)
            result.seen_after = round(clock() - started, 1)
        finally:
            send_update(txt_update(zone, name, value, server, add=False), name, server, query)
            result.removed = True
    return outcome
