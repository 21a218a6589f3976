# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Draining servers, by inventory host name, in an upstream block rendered by render_upstream."""

from __future__ import annotations

import dataclasses

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


def test_draining_marks_only_the_given_host_down_as_the_renderer_would() -> None:
    drained = set_down(_upstream(APP1, APP2), ["app1"], down=True)
    assert drained.changed == ["app1"] and drained.missing == [] and not drained.none_left
    assert drained.text == _upstream(dataclasses.replace(APP1, down=True), APP2)


def test_lines_are_found_by_host_name_whatever_address_the_proxy_uses() -> None:
    # The proxies reach app1 at a public address and another port than app1's own variables say.
    public = dataclasses.replace(APP1, address="198.51.100.11", port=8080)
    drained = set_down(_upstream(public, APP2), ["app1"], down=True)
    assert "    server 198.51.100.11:8080 max_fails=3 fail_timeout=10s down;  # app1\n" in drained.text


def test_undraining_restores_the_rendered_text() -> None:
    text = _upstream(APP1, APP2)
    restored = set_down(set_down(text, ["app1"], down=True).text, ["app1"], down=False)
    assert restored.text == text and restored.changed == ["app1"]


def test_draining_twice_changes_nothing_the_second_time() -> None:
    drained = set_down(_upstream(APP1, APP2), ["app2"], down=True).text
    again = set_down(drained, ["app2"], down=True)
    assert again.text == drained and again.changed == []


def test_a_host_not_in_the_upstream_is_reported_missing() -> None:
    text = _upstream(APP1, APP2)
    result = set_down(text, ["app9"], down=True)
    assert result.text == text and result.changed == [] and result.missing == ["app9"]


def test_draining_every_primary_is_refused() -> None:
    with pytest.raises(UpstreamError, match="would leave no server taking traffic"):
        set_down(_upstream(APP1, APP2), ["app1", "app2"], down=True)
    # A backup alone does not count as taking traffic.
    with pytest.raises(UpstreamError):
        set_down(_upstream(APP1, APP3), ["app1"], down=True)


def test_a_lone_server_can_be_left_in_place_instead() -> None:
    text = _upstream(APP1)
    result = set_down(text, ["app1"], down=True, if_none_left="skip")
    assert result.none_left and result.text == text and result.changed == []
    # Undraining never runs into it.
    assert not set_down(text, ["app1"], down=False, if_none_left="skip").none_left


def test_a_file_whose_lines_name_no_host_is_refused() -> None:
    text = "upstream django {\n    server 10.0.0.11:8000;\n    server 10.0.0.12:8000;\n}\n"
    with pytest.raises(UpstreamError, match="run the nginx_proxy role"):
        set_down(text, ["app1"], down=True)


def test_ipv6_endpoints_and_hand_written_comments_survive() -> None:
    text = ("upstream django {\n    server [2001:db8::11]:8000 max_fails=3 fail_timeout=10s; # app1 (rack 4)\n"
            "    server [2001:db8::12]:8000;  # app2\n}\n")
    drained = set_down(text, ["app1"], down=True)
    assert drained.changed == ["app1"]
    assert "    server [2001:db8::11]:8000 max_fails=3 fail_timeout=10s down; # app1 (rack 4)\n" in drained.text


def test_a_lone_server_moves_to_its_standby_port_and_back_as_the_renderer_would() -> None:
    text = _upstream(APP1)
    standby = set_down(text, ["app1"], down=False, port=8001)
    assert standby.changed == ["app1"] and not standby.none_left
    assert standby.text == _upstream(dataclasses.replace(APP1, port=8001))
    back = set_down(standby.text, ["app1"], down=False, port=8000)
    assert back.changed == ["app1"] and back.text == text
    # Already there: nothing to change.
    assert set_down(text, ["app1"], down=False, port=8000).changed == []


@pytest.mark.parametrize(
    ("endpoint", "moved"),
    [
        ("10.0.0.11:8000", "10.0.0.11:8001"),
        ("[2001:db8::11]:8000", "[2001:db8::11]:8001"),
        ("app1.internal:8000", "app1.internal:8001"),
        ("10.0.0.11", "10.0.0.11:8001"),
        ("[2001:db8::11]", "[2001:db8::11]:8001"),
    ],
)
def test_the_port_changes_and_the_address_stays(endpoint: str, moved: str) -> None:
    text = "upstream django {\n    server %s max_fails=3;  # app1\n    server 10.0.0.12:8000;  # app2\n}\n" % endpoint
    result = set_down(text, ["app1"], down=False, port=8001)
    assert "    server %s max_fails=3;  # app1\n" % moved in result.text
    assert "    server 10.0.0.12:8000;  # app2\n" in result.text  # other lines as they were


def test_a_port_out_of_range_is_refused() -> None:
    with pytest.raises(UpstreamError, match="out of range"):
        set_down(_upstream(APP1), ["app1"], down=False, port=70000)
