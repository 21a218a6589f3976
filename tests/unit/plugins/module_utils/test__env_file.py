# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Env file rendering, parsing and masking."""

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils._env_file import (
    MASK,
    EnvFileError,
    changed_keys,
    masked,
    normalize,
    parse,
    render,
)


def test_values_become_strings_in_order_with_python_booleans() -> None:
    assert list(normalize({"B": 1, "A": True, "C": None, "D": False}).items()) == [("B", "1"), ("A", "True"), ("C", ""), ("D", "False")]


@pytest.mark.parametrize("key", ["1ABC", "WITH-DASH", "WITH SPACE", ""])
def test_invalid_names_are_refused_by_name(key: str) -> None:
    with pytest.raises(EnvFileError, match="is not a valid variable name"):
        normalize({key: "x"})


@pytest.mark.parametrize("value", ["two\nlines", "carriage\rreturn", "nul\0byte"])
def test_values_with_line_breaks_are_refused_naming_the_key(value: str) -> None:
    with pytest.raises(EnvFileError, match="the value of SECRET contains a line break or NUL"):
        normalize({"OK": "fine", "SECRET": value})


def test_render_and_parse_round_trip_literal_values() -> None:
    values = {"KEY": "a=b c#d 'e' \"f\" $HOME", "EMPTY": ""}
    text = render(values, header="managed by Ansible\n\nmode 0600")
    assert text.splitlines()[:3] == ["# managed by Ansible", "#", "# mode 0600"]
    assert parse(text) == values


def test_changed_keys_names_added_changed_and_removed() -> None:
    assert changed_keys({"A": "1", "B": "2", "GONE": "x"}, {"A": "1", "B": "3", "NEW": "y"}) == ["B", "NEW", "GONE"]
    assert changed_keys({"A": "1"}, {"A": "1"}) == []


def test_masked_shows_public_values_and_marks_changed_secrets() -> None:
    text = masked({"DEBUG": "False", "SECRET_KEY": "s3cr3t", "PASSWORD": "pw"}, {"DEBUG"}, changed=["SECRET_KEY"])
    assert text == "DEBUG=False\nSECRET_KEY=%s (changed)\nPASSWORD=%s\n" % (MASK, MASK)
    assert "s3cr3t" not in text and "pw\n" not in text
