# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for plugins/module_utils/_certbot/views.py: what results and diffs show of a certificate."""

from __future__ import annotations

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.lineage import read_certificate
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.views import (
    certificate_view,
    diff_summary,
    planned_view,
)
from ansible_collections.djangoops.fleet.tests.unit.plugins.module_utils._certbot.certificates import (
    DAY,
    NOW,
    make_leaf,
    write_lineage,
)


PRODUCTION_URL = "https://10.20.0.3:14000/dir"


def test_diff_summary_shows_no_key_material(tmp_path, cas):
    old, old_key = make_leaf(cas["le_staging"], serial=0x11, not_after=NOW + 80 * DAY)
    new, new_key = make_leaf(cas["production"], serial=0x22, not_after=NOW + 90 * DAY)
    before = read_certificate(write_lineage(tmp_path / "a", "s", old, old_key, cas["le_staging"]) + "/fullchain.pem")
    after = read_certificate(write_lineage(tmp_path / "b", "s", new, new_key, cas["production"]) + "/fullchain.pem")

    assert diff_summary(before, after) == {
        "before": {
            "serial": "11",
            "issuer": "CN=(STAGING) Ersatz Edamame E1,O=(STAGING) Let's Encrypt",
            "not_after": "2027-02-12T12:00:00+00:00",
            "domains": ["shop.example.test", "www.shop.example.test"],
        },
        "after": {
            "serial": "22",
            "issuer": "CN=Pebble Intermediate CA abc123,O=Pebble",
            "not_after": "2027-02-22T12:00:00+00:00",
            "domains": ["shop.example.test", "www.shop.example.test"],
        },
    }


def test_diff_summary_in_check_mode_plans_the_domains():
    planned = planned_view(["WWW.shop.example.test", "shop.example.test"], directory=PRODUCTION_URL)
    assert diff_summary(None, None, planned=planned) == {
        "before": {},
        "after": {
            "serial": None,
            "issuer": "(to be issued by https://10.20.0.3:14000/dir)",
            "not_after": None,
            "domains": ["shop.example.test", "www.shop.example.test"],
        },
    }
    assert certificate_view(None) == {}
