# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACME preflight: before any request to a CA, prove that the CA will find the proxies.

Two checks, both judged here from data the certbot role collects on the controller:

* every certificate name resolves only to addresses of proxies in the inventory (a proxy may have
  several: its IPv4 and IPv6 addresses);
* a token written to the issuing proxy's webroot comes back from every proxy over HTTP, for every
  name (the CA may reach any proxy the name resolves to; the others forward to the issuer).

Each function returns the problems in plain words, one per line of the final error message.
"""

from __future__ import annotations

import ipaddress
import typing as t

# What the community.general.dig lookup returns instead of addresses.
_NO_ADDRESS = frozenset({"", "NXDOMAIN", "NOANSWER", "SERVFAIL", "REFUSED"})


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(str(value).strip().strip("[]"))
    except ValueError:
        return None


def resolved_addresses(answers: t.Iterable[str]) -> list[str]:
    """Addresses from dig answers, without its placeholders for "no record"."""
    return [str(answer).strip() for answer in answers if str(answer).strip() not in _NO_ADDRESS]


def proxy_address_list(value: t.Any) -> list[str]:
    """A proxy's public addresses from its host variable: one address, or a list of them (dual stack:
    its IPv4 and IPv6 addresses). Addresses in brackets lose them."""
    values = value if isinstance(value, (list, tuple)) else [value]
    return [str(item).strip().strip("[]") for item in values if str(item).strip()]


def dns_problems(
    resolved: t.Mapping[str, t.Iterable[str]],
    proxies: t.Mapping[str, t.Any],
    *,
    address_var: str = "ansible_host",
) -> list[str]:
    """What stops the CA from reaching a proxy for each name.

    ``resolved`` maps each certificate name to its A and AAAA answers; ``proxies`` maps each proxy's
    inventory name to its public address or list of addresses (the value of ``address_var``).
    """
    problems: list[str] = []
    listed = {host: proxy_address_list(value) for host, value in proxies.items()}
    proxy_ips: dict[t.Any, str] = {}
    for host, addresses in listed.items():
        if not addresses:
            problems.append("%s: its %s is empty; set it to the proxy's public IP address (or a list of its"
                            " IPv4 and IPv6 addresses)" % (host, address_var))
        for address in addresses:
            ip = _ip(address)
            if ip is None:
                problems.append(
                    "%s: its %s '%s' is not an IP address; set certbot_address_var to a variable that holds"
                    " each proxy's public IP address, or a list of its IPv4 and IPv6 addresses" % (host, address_var, address)
                )
            else:
                proxy_ips[ip] = host
    if problems:
        return problems
    known = ", ".join("%s=%s" % (host, "/".join(addresses)) for host, addresses in listed.items())
    families = {ip.version for ip in proxy_ips}
    for name, answers in resolved.items():
        addresses = resolved_addresses(answers)
        if not addresses:
            problems.append(
                "%s does not resolve to any address (no A or AAAA record, or the DNS server did not answer);"
                " point it at the proxies (%s)" % (name, known)
            )
            continue
        strangers = [address for address in addresses if _ip(address) not in proxy_ips]
        if strangers:
            hint = ""
            if any(ip is not None and ip.version not in families for ip in map(_ip, strangers)):
                hint = ("; a proxy with an IPv6 address must list it too (certbot_address_var naming a list of"
                        " its IPv4 and IPv6 addresses)")
            problems.append(
                "%s resolves to %s, which %s not a proxy in the inventory (proxies: %s); the CA would"
                " validate against %s%s" % (
                    name, ", ".join(strangers), "is" if len(strangers) == 1 else "are", known,
                    "it" if len(strangers) == 1 else "them", hint,
                )
            )
    return problems


def challenge_problems(responses: t.Iterable[t.Mapping[str, t.Any]], token: str) -> list[str]:
    """Which proxy did not serve the token for which name.

    Each response is a result of ``ansible.builtin.uri`` with ``proxy``, ``domain`` and ``url`` added
    by the role: ``status`` (-1 when nothing answered), ``content`` and ``msg``.
    """
    problems = []
    for response in responses:
        where = "%s (Host: %s, proxy %s)" % (response.get("url"), response.get("domain"), response.get("proxy"))
        status = response.get("status", -1)
        content = str(response.get("content") or "").strip()
        if status == 200 and content == token:
            continue
        if status is None or int(status) < 0:
            found = "no answer (%s)" % (response.get("msg") or "connection failed")
        elif status == 200:
            found = "other content (%r)" % content[:80]
        else:
            found = "HTTP %s" % status
        problems.append("%s returned %s instead of the challenge token" % (where, found))
    return problems
