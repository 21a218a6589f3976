# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests ip_address and host_name: is an inventory value an address, or a name to resolve first?"""

from __future__ import annotations

from ansible_collections.djangoops.fleet.plugins.module_utils import _resolve


def ip_address(value) -> bool:
    """True for an IPv4 or IPv6 address (brackets allowed) or network in CIDR notation."""
    return isinstance(value, str) and _resolve.is_literal(value)


def host_name(value) -> bool:
    """True for an RFC 1123 host name (not an address, not a mistyped IPv4 address such as 10.0.0.300)."""
    return isinstance(value, str) and _resolve.is_host_name(value.strip())


class TestModule:
    """Ansible test plugin entry point."""

    def tests(self) -> dict:
        return {"ip_address": ip_address, "host_name": host_name}
