# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests ip_address and host_name tell an address from a name to resolve, and refuse what is neither."""

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.plugins.test.addresses import TestModule

TESTS = TestModule().tests()


@pytest.mark.parametrize("value, is_address, is_name", [
    ("10.87.0.11", True, False),
    ("fd00:87::11", True, False),
    # As firewall rules take addresses: no brackets, no zone index.
    ("[fd00:87::11]", False, False),
    ("fe80::1%eth0", False, False),
    ("10.87.0.0/24", True, False),
    ("app1.djangoops.internal", False, True),
    ("app1", False, True),
    ("app1.djangoops.internal.", False, False),
    ("10.87.0.300", False, False),
    ("app_1.internal", False, False),
    ("app1.internal; allow", False, False),
    ("", False, False),
    (None, False, False),
    (["10.87.0.11"], False, False),
])
def test_addresses_names_and_neither(value, is_address: bool, is_name: bool) -> None:
    assert TESTS["ip_address"](value) is is_address
    assert TESTS["host_name"](value) is is_name
