# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Names become addresses through the host's resolver; addresses and networks pass as written."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils import _resolve

ZONE = {
    "proxy1.internal": ["10.0.0.10"],
    "proxy2.internal": ["10.0.0.13", "fd00::13", "10.0.0.13"],
    "link.internal": ["fe80::1%eth0"],
    "app1.example.com": ["127.0.1.1", "10.0.0.11"],
    "self.example.com": ["127.0.1.1"],
}


def _getaddrinfo(name, port, family=socket.AF_UNSPEC, kind=0):
    """A resolver over ZONE that answers as socket.getaddrinfo does (one tuple per address)."""
    assert port is None and kind == socket.SOCK_STREAM
    if name.rstrip(".") not in ZONE:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    answers = []
    for address in ZONE[name.rstrip(".")]:
        found = socket.AF_INET6 if ":" in address else socket.AF_INET
        if family in (socket.AF_UNSPEC, found):
            answers.append((found, socket.SOCK_STREAM, 6, "", (address, 0)))
    if not answers:
        raise socket.gaierror(socket.EAI_ADDRFAMILY, "Address family for hostname not supported")
    return answers


def _resolve_in_zone(entries, **options):
    return _resolve.resolve(entries, getaddrinfo=_getaddrinfo, **options)


def test_addresses_and_networks_are_kept_without_a_lookup() -> None:
    def no_lookup(*args, **kwargs):
        raise AssertionError("looked up %r" % (args,))

    resolved, unresolved = _resolve.resolve(
        ["10.0.0.7", " [2001:DB8::7] ", "10.1.0.0/16", "2001:db8::/48"], getaddrinfo=no_lookup)
    assert resolved == {"10.0.0.7": ["10.0.0.7"], "[2001:DB8::7]": ["2001:db8::7"],
                        "10.1.0.0/16": ["10.1.0.0/16"], "2001:db8::/48": ["2001:db8::/48"]}
    assert unresolved == {}


def test_names_resolve_in_the_resolver_s_order_each_address_once() -> None:
    resolved, unresolved = _resolve_in_zone(["proxy2.internal", "proxy1.internal", "proxy2.internal"])
    assert resolved == {"proxy2.internal": ["10.0.0.13", "fd00::13"], "proxy1.internal": ["10.0.0.10"]}
    assert unresolved == {}


def test_a_family_keeps_only_its_answers_of_a_name() -> None:
    resolved = _resolve_in_zone(["proxy2.internal", "fd00::99"], family="ipv4")[0]
    assert resolved == {"proxy2.internal": ["10.0.0.13"], "fd00::99": ["fd00::99"]}
    resolved, unresolved = _resolve_in_zone(["proxy1.internal"], family="ipv6")
    assert resolved == {} and unresolved == {"proxy1.internal": "Address family for hostname not supported"}


def test_a_zone_index_is_dropped() -> None:
    assert _resolve_in_zone(["link.internal"])[0] == {"link.internal": ["fe80::1"]}


def test_routable_drops_loopback_and_link_local_answers() -> None:
    resolved, unresolved = _resolve_in_zone(["app1.example.com", "self.example.com", "link.internal", "127.0.0.1"],
                                            routable=True)
    # An address given as such is the user's choice; only a name's answers are filtered.
    assert resolved == {"app1.example.com": ["10.0.0.11"], "127.0.0.1": ["127.0.0.1"]}
    assert unresolved == {
        "self.example.com": "resolves only to 127.0.1.1, which other hosts cannot reach (an /etc/hosts entry?)",
        "link.internal": "resolves only to fe80::1, which other hosts cannot reach (an /etc/hosts entry?)",
    }
    assert _resolve_in_zone(["app1.example.com"])[0] == {"app1.example.com": ["127.0.1.1", "10.0.0.11"]}


@pytest.mark.parametrize("entry, reason", [
    ("proxy3.internal", "Name or service not known"),
    ("10.0.0.300", "not an IP address, a network or an RFC 1123 host name"),
    ("proxy_1.internal", "not an IP address, a network or an RFC 1123 host name"),
    ("proxy1.internal; rm", "not an IP address, a network or an RFC 1123 host name"),
    ("fe80::1%eth0", "not an IP address, a network or an RFC 1123 host name"),
    # The upstream block refuses a trailing dot: one definition of a host name.
    ("proxy1.internal.", "not an IP address, a network or an RFC 1123 host name"),
    ("", "not an IP address, a network or an RFC 1123 host name"),
])
def test_what_does_not_resolve_says_why(entry: str, reason: str) -> None:
    resolved, unresolved = _resolve_in_zone([entry, "proxy1.internal"])
    assert unresolved == {entry: reason}
    assert resolved == {"proxy1.internal": ["10.0.0.10"]}


def test_host_names_follow_rfc_1123() -> None:
    assert _resolve.is_host_name("app1.djangoops.internal")
    assert not _resolve.is_host_name("app1.djangoops.internal.")
    assert not _resolve.is_host_name("")
    assert _resolve.is_host_name("localhost")
    assert not _resolve.is_host_name("-app1.internal")
    assert not _resolve.is_host_name("a" * 64 + ".internal")
    assert not _resolve.is_host_name("192.0.2.300")
    assert _resolve.is_literal("192.0.2.3") and _resolve.is_literal("fd00::/8") and not _resolve.is_literal("app1")
    assert not _resolve.is_literal("[fd00::1]") and not _resolve.is_literal("fe80::1%eth0")


def test_the_description_names_each_entry_and_reason() -> None:
    text = _resolve.describe_unresolved({"b.internal": "no IP address", "a.internal": "Name or service not known"}, "app1")
    assert text == "app1 cannot resolve a.internal (Name or service not known); b.internal (no IP address)"
