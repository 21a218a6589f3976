# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ACME preflight judgements: names must resolve only to proxies, every proxy must serve the token."""

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils._acme_preflight import (
    challenge_problems,
    dns_problems,
    resolved_addresses,
)

PROXIES = {"proxy1": "198.51.100.10", "proxy2": "198.51.100.13"}
TOKEN = "djangoops-preflight-abc123"


def test_names_that_resolve_to_proxies_pass() -> None:
    resolved = {"www.example.com": ["198.51.100.10", "198.51.100.13"], "example.com": ["198.51.100.13"]}
    assert dns_problems(resolved, PROXIES) == []


def test_an_ipv6_answer_must_be_a_proxy_too() -> None:
    proxies = {"proxy1": "2001:db8::10"}
    assert dns_problems({"www.example.com": ["2001:DB8:0::10"]}, proxies) == []
    (problem,) = dns_problems({"www.example.com": ["2001:db8::10", "2001:db8::99"]}, proxies)
    assert "resolves to 2001:db8::99, which is not a proxy" in problem


DUAL_STACK = {"proxy1": ["198.51.100.10", "2001:db8:100::10"], "proxy2": ["198.51.100.13", "[2001:db8:100::13]"]}


def test_dual_stack_proxies_list_both_addresses_and_both_record_types_pass() -> None:
    resolved = {"www.example.com": ["198.51.100.10", "198.51.100.13", "2001:db8:100::10", "2001:db8:100::13"]}
    assert dns_problems(resolved, DUAL_STACK) == []
    assert dns_problems({"www.example.com": ["2001:db8:100:0::13"]}, DUAL_STACK) == []


def test_an_aaaa_record_for_proxies_known_by_ipv4_only_says_to_list_their_ipv6_addresses() -> None:
    (problem,) = dns_problems({"www.example.com": ["198.51.100.10", "2001:db8:100::10"]}, PROXIES)
    assert problem.startswith("www.example.com resolves to 2001:db8:100::10, which is not a proxy")
    assert "list of its IPv4 and IPv6 addresses" in problem


def test_a_dual_stack_stranger_is_named_with_every_proxy_address() -> None:
    (problem,) = dns_problems({"www.example.com": ["2001:db8:100::99"]}, DUAL_STACK)
    assert "proxy1=198.51.100.10/2001:db8:100::10, proxy2=198.51.100.13/2001:db8:100::13" in problem
    assert "must list it too" not in problem  # the proxies have IPv6 addresses: it is a stranger, no more


@pytest.mark.parametrize("value", [[], "", [""]])
def test_a_proxy_without_an_address_is_named(value) -> None:
    (problem,) = dns_problems({"www.example.com": ["198.51.100.10"]}, {"proxy1": value}, address_var="public_addresses")
    assert problem.startswith("proxy1: its public_addresses is empty")


def test_every_entry_of_a_list_must_be_an_ip_address() -> None:
    (problem,) = dns_problems({"www.example.com": ["198.51.100.10"]}, {"proxy1": ["198.51.100.10", "proxy1.example.com"]})
    assert problem.startswith("proxy1: its ansible_host 'proxy1.example.com' is not an IP address")


def test_a_name_pointing_elsewhere_is_named_with_what_it_resolves_to() -> None:
    (problem,) = dns_problems({"www.example.com": ["198.51.100.10"], "shop.example.com": ["203.0.113.5"]}, PROXIES)
    assert problem.startswith("shop.example.com resolves to 203.0.113.5, which is not a proxy in the inventory")
    assert "proxy1=198.51.100.10, proxy2=198.51.100.13" in problem


def test_several_strangers_are_all_listed() -> None:
    (problem,) = dns_problems({"www.example.com": ["203.0.113.5", "203.0.113.6", "198.51.100.10"]}, PROXIES)
    assert "resolves to 203.0.113.5, 203.0.113.6, which are not a proxy" in problem


@pytest.mark.parametrize("answers", [[], [""], ["NXDOMAIN"], ["NOANSWER", ""]])
def test_a_name_without_address_is_reported(answers: list[str]) -> None:
    (problem,) = dns_problems({"www.example.com": answers}, PROXIES)
    assert problem.startswith("www.example.com does not resolve to any address")


def test_proxy_addresses_must_be_ip_addresses() -> None:
    (problem,) = dns_problems({"www.example.com": ["198.51.100.10"]}, {"proxy1": "proxy1.example.com"}, address_var="public_ip")
    assert problem.startswith("proxy1: its public_ip 'proxy1.example.com' is not an IP address")
    assert "certbot_address_var" in problem


def test_resolved_addresses_drop_dig_placeholders() -> None:
    assert resolved_addresses(["NXDOMAIN", "", " 192.0.2.1 "]) == ["192.0.2.1"]


def _response(status, content="", proxy="proxy1", msg="OK"):
    return {"url": "http://198.51.100.10/.well-known/acme-challenge/" + TOKEN, "domain": "www.example.com",
            "proxy": proxy, "status": status, "content": content, "msg": msg}


def test_every_proxy_serving_the_token_passes() -> None:
    assert challenge_problems([_response(200, TOKEN + "\n"), _response(200, TOKEN, proxy="proxy2")], TOKEN) == []


@pytest.mark.parametrize(
    ("response", "found"),
    [
        (_response(404, "<html>Not Found</html>"), "returned HTTP 404 instead of the challenge token"),
        (_response(200, "<html>welcome</html>"), "returned other content ('<html>welcome</html>')"),
        (_response(-1, msg="Status code was -1: Connection refused"), "returned no answer (Status code was -1: Connection refused)"),
        (_response(301), "returned HTTP 301"),
    ],
)
def test_each_failure_names_the_url_the_name_the_proxy_and_what_came_back(response: dict, found: str) -> None:
    (problem,) = challenge_problems([response], TOKEN)
    assert problem.startswith("http://198.51.100.10/.well-known/acme-challenge/%s (Host: www.example.com, proxy proxy1)" % TOKEN)
    assert found in problem
