# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""CSRF trusted origins against ALLOWED_HOSTS, as the django_app role's preflight judges them."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.fleet.plugins.test.csrf_origin_allowed import TestModule as CsrfTests
from ansible_collections.djangoops.fleet.plugins.test.csrf_origin_allowed import csrf_origin_allowed

ALLOWED = ["www.example.com", ".example.org"]


@pytest.mark.parametrize("origin", [
    "https://www.example.com", "https://WWW.example.com", "https://www.example.com:8443", "https://www.example.com/",
    "https://example.org", "https://shop.example.org", "https://*.example.org",
])
def test_https_origins_of_allowed_hosts_pass(origin: str) -> None:
    assert csrf_origin_allowed(origin, ALLOWED)


@pytest.mark.parametrize("origin", [
    "http://www.example.com", "https://evil.example.com", "https://www.example.com/admin", "www.example.com",
    "https://*.example.com", "https://www.example.com.evil.test", "https://notexample.org", "",
])
def test_other_origins_fail(origin: str) -> None:
    assert not csrf_origin_allowed(origin, ALLOWED)


def test_allowed_hosts_must_be_a_list() -> None:
    with pytest.raises(AnsibleFilterError):
        csrf_origin_allowed("https://www.example.com", "www.example.com")


def test_registered() -> None:
    assert CsrfTests().tests() == {"csrf_origin_allowed": csrf_origin_allowed}
