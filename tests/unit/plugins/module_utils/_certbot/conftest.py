# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures shared by the tests of plugins/module_utils/_certbot/."""

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.tests.unit.plugins.module_utils._certbot.certificates import CA, make_ca


@pytest.fixture(scope="module")
def cas() -> dict[str, CA]:
    le_staging_root = make_ca("(STAGING) Pretend Pear X1", org="(STAGING) Internet Security Research Group")
    return {
        "le_staging": make_ca("(STAGING) Ersatz Edamame E1", org="(STAGING) Let's Encrypt", parent=le_staging_root),
        "fake_le": make_ca("Fake LE Intermediate X1"),
        # Two Pebble instances: nothing in their names says which one is staging.
        "pebble_staging": make_ca("Pebble Intermediate CA 5t4g1n"),
        "production": make_ca("Pebble Intermediate CA abc123", org="Pebble"),
    }
