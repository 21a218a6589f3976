# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for plugins/test/healthy.py."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.fleet.plugins.test.healthy import TestModule, healthy


def test_registered():
    assert TestModule().tests() == {"healthy": healthy}


@pytest.mark.parametrize("result, status, body, expected", [
    ({"status": 200}, 200, "", True),
    ({"status": 200, "content": "ok\n"}, "200", "^ok$", True),  # the status as a string, as a template gives it
    ({"status": 200, "content": "ok\n"}, 200, r"^ok\b", True),
    ({"status": 200, "content": "database unavailable"}, 200, "^ok", False),
    ({"status": 503, "content": "ok"}, 200, "", False),
    ({"status": 204}, 204, "", True),
    ({"status": -1, "msg": "connection refused"}, 200, "", False),
])
def test_status_and_body(result, status, body, expected):
    assert healthy(result, status, body) is expected


def test_a_bad_pattern_or_input_is_named():
    with pytest.raises(AnsibleFilterError, match="not a regular expression"):
        healthy({"status": 200, "content": ""}, 200, "(")
    with pytest.raises(AnsibleFilterError, match="registered result"):
        healthy("200")
