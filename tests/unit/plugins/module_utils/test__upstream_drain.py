# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Draining servers in an upstream block rendered by render_upstream (rolling deploys)."""

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils._upstream import (
    Server,
    UpstreamError,
    render_upstream,
    set_down,
)


def _upstream(*servers: Server) -> str:
    return render_upstream("django", list(servers), keepalive=32)


APP1 = Server(host="app1", address="10.0.0.11", port=8000, weight=1, max_fails=3, fail_timeout=10)
APP2 = Server(host="app2", address="10.0.0.12", port=8000, weight=2, max_fails=3, fail_timeout=10)
APP3 = Server(host="app3", address="10.0.0.13", port=8000, weight=1, max_fails=3, fail_timeout=10, backup=True)


def test_draining_marks_only_the_given_server_down_as_the_renderer_would() -> None:
    text = _upstream(APP1, APP2)
    drained, changed, missing = set_down(text, ["10.0.0.11:8000"], down=True)
    assert changed == ["10.0.0.11:8000"] and missing == []
    assert drained == _upstream(Server(**{**APP1.__dict__, "down": True}), APP2)


def test_undraining_restores_the_rendered_text() -> None:
    text = _upstream(APP1, APP2)
    drained = set_down(text, ["10.0.0.11:8000"], down=True)[0]
    restored, changed, _missing = set_down(drained, ["10.0.0.11:8000"], down=False)
    assert restored == text and changed == ["10.0.0.11:8000"]


def test_draining_twice_changes_nothing_the_second_time() -> None:
    drained = set_down(_upstream(APP1, APP2), ["10.0.0.12:8000"], down=True)[0]
    again, changed, _missing = set_down(drained, ["10.0.0.12:8000"], down=True)
    assert again == drained and changed == []


def test_a_server_not_in_the_upstream_is_reported_missing() -> None:
    text = _upstream(APP1, APP2)
    same, changed, missing = set_down(text, ["10.0.0.99:8000"], down=True)
    assert same == text and changed == [] and missing == ["10.0.0.99:8000"]


def test_draining_every_primary_is_refused() -> None:
    with pytest.raises(UpstreamError, match="would leave no server taking traffic"):
        set_down(_upstream(APP1, APP2), ["10.0.0.11:8000", "10.0.0.12:8000"], down=True)
    # A backup alone does not count as taking traffic.
    with pytest.raises(UpstreamError):
        set_down(_upstream(APP1, APP3), ["10.0.0.11:8000"], down=True)


def test_ipv6_endpoints_and_comments_survive() -> None:
    text = "upstream django {\n    server [2001:db8::11]:8000 max_fails=3 fail_timeout=10s; # app1\n    server [2001:db8::12]:8000;\n}\n"
    drained, changed, _missing = set_down(text, ["[2001:db8::11]:8000"], down=True)
    assert changed == ["[2001:db8::11]:8000"]
    assert "    server [2001:db8::11]:8000 max_fails=3 fail_timeout=10s down; # app1\n" in drained
