# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run resolve_names for real: localhost resolves through /etc/hosts (no DNS query leaves the
machine), a malformed name is reported without a lookup, strict mode fails naming it."""

from __future__ import annotations


def test_localhost_and_addresses_resolve(run_module) -> None:
    rc, result, output = run_module("resolve_names", {"names": ["localhost", "192.0.2.7", "192.0.2.7"], "family": "ipv4"})
    assert rc == 0, output
    assert result["changed"] is False
    assert result["addresses"]["localhost"] == ["127.0.0.1"]
    assert result["addresses"]["192.0.2.7"] == ["192.0.2.7"]
    assert result["all_addresses"] == ["127.0.0.1", "192.0.2.7"]
    assert result["unresolved"] == {}


def test_a_name_that_cannot_resolve_fails_in_strict_mode_and_is_returned_otherwise(run_module) -> None:
    rc, result, output = run_module("resolve_names", {"names": ["192.0.2.7", "app_1.internal"]})
    assert rc == 1, output
    assert result["failed"] is True
    assert "cannot resolve app_1.internal (not an IP address, a network or an RFC 1123 host name)" in result["msg"]

    rc, result, output = run_module("resolve_names", {"names": ["192.0.2.7", "app_1.internal"], "strict": False})
    assert rc == 0, output
    assert result["unresolved"] == {"app_1.internal": "not an IP address, a network or an RFC 1123 host name"}
    assert result["all_addresses"] == ["192.0.2.7"]


def test_check_mode_resolves_the_same(run_module) -> None:
    rc, result, output = run_module("resolve_names", {"names": ["localhost"], "family": "ipv4", "_ansible_check_mode": True})
    assert rc == 0, output
    assert result["addresses"] == {"localhost": ["127.0.0.1"]}
