# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Env file rendering, parsing and masking."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils._env_file import (
    MASK,
    EnvFileError,
    SecretDirectory,
    SecretFile,
    changed_keys,
    file_settings,
    masked,
    masked_files,
    normalize,
    owner_uid,
    parse,
    read_secret_directory,
    remove_secret_directory,
    render,
    secret_file_changes,
    wanted_secret_directory,
    write_secret_directory,
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


# --- Secrets as files -------------------------------------------------------------------------------

def test_file_settings_name_each_secret_below_the_mount() -> None:
    assert file_settings({"DJANGO_SECRET_KEY": "s", "DATABASE_PASSWORD": "p"}, "/run/secrets/polls", ["DEBUG"]) == {
        "DJANGO_SECRET_KEY_FILE": "/run/secrets/polls/DJANGO_SECRET_KEY",
        "DATABASE_PASSWORD_FILE": "/run/secrets/polls/DATABASE_PASSWORD",
    }


def test_file_settings_refuse_a_setting_of_the_same_name() -> None:
    with pytest.raises(EnvFileError, match="DJANGO_SECRET_KEY_FILE would be set twice"):
        file_settings({"DJANGO_SECRET_KEY": "s"}, "/run/secrets/polls", ["DJANGO_SECRET_KEY_FILE"])


@pytest.mark.parametrize("mount", ["run/secrets", "/run/my secrets", ""])
def test_file_settings_refuse_a_mount_that_is_not_a_plain_absolute_path(mount: str) -> None:
    with pytest.raises(EnvFileError, match="must be absolute"):
        file_settings({"A": "s"}, mount, [])


def test_the_wanted_directory_holds_each_value_without_a_newline_readable_by_the_group() -> None:
    wanted = wanted_secret_directory({"DJANGO_SECRET_KEY": "s3cret", "DATABASE_PASSWORD": "pässword"}, uid=0, gid=10001)
    assert (wanted.uid, wanted.gid, wanted.mode) == (0, 10001, 0o750)
    assert wanted.files == {
        "DJANGO_SECRET_KEY": SecretFile(b"s3cret", 0, 10001, 0o440),
        "DATABASE_PASSWORD": SecretFile("pässword".encode("utf-8"), 0, 10001, 0o440),
    }


def _directory(files: dict[str, bytes], *, gid: int = 10001, mode: int = 0o750, others: tuple[str, ...] = ()) -> SecretDirectory:
    return SecretDirectory(0, gid, mode, {name: SecretFile(content, 0, gid, 0o440) for name, content in files.items()}, others)


@pytest.mark.parametrize("before, after, expected", [
    (None, _directory({"A": b"a"}), [".", "A"]),
    (_directory({"A": b"a"}), _directory({"A": b"a"}), []),
    (_directory({"A": b"a", "B": b"b"}), _directory({"A": b"changed", "C": b"c"}), ["A", "C", "B"]),
    # Another group (the image's user changed): the directory and every file.
    (_directory({"A": b"a"}), _directory({"A": b"a"}, gid=10002), [".", "A"]),
    (_directory({"A": b"a"}, mode=0o755), _directory({"A": b"a"}), ["."]),
    (_directory({"A": b"a"}, others=("stray",)), _directory({"A": b"a"}), ["."]),
    (_directory({"A": b"a"}), None, [".", "A"]),
    (None, None, []),
])
def test_secret_file_changes(before: SecretDirectory | None, after: SecretDirectory | None, expected: list[str]) -> None:
    assert secret_file_changes(before, after) == expected


def test_masked_files_show_names_owners_and_modes_never_a_value() -> None:
    shown = masked_files(_directory({"A": b"value-a", "B": b"value-b"}), "/etc/djangoops/polls/secrets", ["B"])
    assert shown == (
        "/etc/djangoops/polls/secrets/ 0:10001 0750\n"
        "/etc/djangoops/polls/secrets/A 0:10001 0440 %s\n"
        "/etc/djangoops/polls/secrets/B 0:10001 0440 %s (changed)\n" % (MASK, MASK)
    )
    assert masked_files(None, "/x") == ""


def test_write_read_and_remove_the_directory(tmp_path) -> None:
    path = str(tmp_path / "secrets")
    uid, gid = os.geteuid(), os.getegid()
    first = wanted_secret_directory({"A": "value-a", "B": "value-b"}, uid=uid, gid=gid)
    write_secret_directory(path, first, None)
    assert read_secret_directory(path) == first
    assert (tmp_path / "secrets" / "A").read_bytes() == b"value-a"
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "secrets" / "B").stat().st_mode) == 0o440

    (tmp_path / "secrets" / "stray").mkdir()
    second = wanted_secret_directory({"A": "new-a"}, uid=uid, gid=gid)
    write_secret_directory(path, second, read_secret_directory(path))
    assert sorted(os.listdir(path)) == ["A"]
    assert read_secret_directory(path) == second

    remove_secret_directory(path)
    assert read_secret_directory(path) is None


def test_a_file_where_the_directory_goes_is_refused(tmp_path) -> None:
    (tmp_path / "secrets").write_text("x")
    with pytest.raises(EnvFileError, match="is not a directory"):
        read_secret_directory(str(tmp_path / "secrets"))


def test_owner_uid() -> None:
    assert owner_uid(None) == os.geteuid()
    assert owner_uid("0") == 0
    assert owner_uid("root") == 0
    with pytest.raises(EnvFileError, match="no-such-user-djangoops"):
        owner_uid("no-such-user-djangoops")
