# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The preflight filters as the certbot role calls them: dig answers and uri loop results."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.fleet.plugins.filter.acme_preflight import (
    FilterModule,
    acme_challenge_problems,
    acme_dns_problems,
    acme_proxy_endpoints,
)


def test_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {"acme_dns_problems", "acme_proxy_endpoints", "acme_challenge_problems"}


def test_each_address_of_each_proxy_is_an_endpoint() -> None:
    proxies = {"proxy1": ["198.51.100.10", "2001:db8:100::10"], "proxy2": "198.51.100.13"}
    assert acme_proxy_endpoints(proxies) == [
        {"key": "proxy1", "value": "198.51.100.10"},
        {"key": "proxy1", "value": "2001:db8:100::10"},
        {"key": "proxy2", "value": "198.51.100.13"},
    ]
    with pytest.raises(AnsibleFilterError):
        acme_proxy_endpoints(["198.51.100.10"])


def test_dns_answers_may_be_a_single_string() -> None:
    assert acme_dns_problems({"www.example.com": "192.0.2.10"}, {"proxy1": "192.0.2.10"}) == []
    (problem,) = acme_dns_problems({"www.example.com": "NXDOMAIN"}, {"proxy1": "192.0.2.10"})
    assert "does not resolve" in problem


def test_dns_input_must_be_dicts() -> None:
    with pytest.raises(AnsibleFilterError):
        acme_dns_problems(["www.example.com"], {"proxy1": "192.0.2.10"})


def test_uri_loop_results_name_the_proxy_and_domain_from_the_item() -> None:
    results = [
        {"item": [{"key": "proxy1", "value": "192.0.2.10"}, "www.example.com"], "url": "http://192.0.2.10/x",
         "status": 200, "content": "tok"},
        {"item": [{"key": "proxy2", "value": "192.0.2.11"}, "www.example.com"], "url": "http://192.0.2.11/x",
         "status": 502, "content": "", "msg": "Status code was 502"},
    ]
    (problem,) = acme_challenge_problems(results, "tok")
    assert problem == "http://192.0.2.11/x (Host: www.example.com, proxy proxy2) returned HTTP 502 instead of the challenge token"


def test_challenge_input_must_be_a_list_of_dicts() -> None:
    with pytest.raises(AnsibleFilterError):
        acme_challenge_problems("not a list", "tok")
