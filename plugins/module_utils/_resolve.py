# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection (leading underscore): no compatibility promise.

"""Host names to addresses, the way the host that runs this resolves them.

A fleet given by names (``proxy1.internal`` as a proxy's private address) needs addresses wherever no
resolver helps: firewall rules, a port published on one address, Gunicorn's FORWARDED_ALLOW_IPS. Only
the servers see the private zone, so the names are resolved there, through the host's own resolver
(``/etc/hosts``, then its DNS servers), as every other program on it would. An IP address or network
given as such is kept as written (normalized), so inventories of addresses resolve nothing.
"""

from __future__ import annotations

import ipaddress
import socket
import typing as t

# One definition of a host name for the whole collection: the one Nginx's upstream block is checked with.
from ansible_collections.djangoops.fleet.plugins.module_utils._upstream import is_hostname

FAMILIES = {"any": socket.AF_UNSPEC, "ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}

GetAddrInfo = t.Callable[..., t.Sequence[t.Tuple[t.Any, ...]]]


def literal(entry: str) -> str | None:
    """The canonical spelling of an IP address or network, else None. As firewall rules take them: no
    brackets, no IPv6 zone index (fe80::1%eth0)."""
    text = entry.strip()
    try:
        address = ipaddress.ip_network(text, strict=False) if "/" in text else ipaddress.ip_address(text)
    except ValueError:
        return None
    if "%" in text:
        return None
    return str(address)


def is_host_name(entry: str) -> bool:
    """Whether ``entry`` is an RFC 1123 host name (not a mistyped IPv4 address such as 10.0.0.300)."""
    return bool(entry) and is_hostname(entry)


def is_literal(entry: t.Any) -> bool:
    """Whether ``entry`` needs no resolving (an IP address or network)."""
    return literal(str(entry)) is not None


def _loopback_or_link_local(address: str) -> bool:
    parsed = ipaddress.ip_address(address)
    return parsed.is_loopback or parsed.is_link_local


def resolve(
    entries: t.Iterable[t.Any],
    *,
    family: str = "any",
    routable: bool = False,
    getaddrinfo: GetAddrInfo = socket.getaddrinfo,
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each entry's addresses, and each entry that has none with the reason.

    Addresses come in the resolver's order, each once; IPv6 zone indexes are dropped (no firewall rule
    or published port takes them). ``family`` keeps only IPv4 or IPv6 answers of a name; an address
    given literally is kept whatever its family, as the user wrote it (an IPv6 one may be bracketed).
    ``routable`` drops loopback and link-local answers of a name, which other hosts cannot reach (Debian
    and cloud-init map the server's own name to 127.0.1.1 in /etc/hosts); a name left with none fails.
    """
    resolved: dict[str, list[str]] = {}
    unresolved: dict[str, str] = {}
    for item in entries:
        entry = str(item).strip()
        if entry in resolved or entry in unresolved:
            continue
        bare = entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry
        address = literal(bare)
        if address is not None:
            resolved[entry] = [address]
            continue
        if not is_host_name(entry):
            unresolved[entry] = "not an IP address, a network or an RFC 1123 host name"
            continue
        try:
            answers = getaddrinfo(entry, None, FAMILIES[family], socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            unresolved[entry] = getattr(error, "strerror", None) or str(error)
            continue
        addresses: list[str] = []
        for answer in answers:
            found = str(answer[4][0]).split("%", 1)[0]
            if found not in addresses:
                addresses.append(found)
        reachable = [address for address in addresses if not (routable and _loopback_or_link_local(address))]
        if reachable:
            resolved[entry] = reachable
        elif addresses:
            unresolved[entry] = ("resolves only to %s, which other hosts cannot reach (an /etc/hosts entry?)"
                                 % ", ".join(addresses))
        else:
            unresolved[entry] = "no %s address" % ("IPv4" if family == "ipv4" else "IPv6" if family == "ipv6" else "IP")
    return resolved, unresolved


def describe_unresolved(unresolved: t.Mapping[str, str], where: str) -> str:
    """One sentence naming every entry that did not resolve on ``where``, with the resolver's reason."""
    return "%s cannot resolve %s" % (where, "; ".join("%s (%s)" % item for item in sorted(unresolved.items())))
