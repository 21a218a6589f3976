# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run the env_file module for real (a subprocess, as Ansible runs it) against files in a temp dir."""

from __future__ import annotations

import hashlib
import os
import stat
import typing as t


SECRET = "kq3Zr8x-the-secret-value"
PASSWORD = "pw-0f-the-database"


def _run(run_module, path, *, check_mode: bool = False, diff: bool = True, **overrides: t.Any) -> tuple[int, dict, str]:
    args = {
        "path": str(path),
        "values": {"DEBUG": False, "DATABASE_HOST": "db.internal"},
        "secrets": {"DJANGO_SECRET_KEY": SECRET, "DATABASE_PASSWORD": PASSWORD},
        "_ansible_check_mode": check_mode,
        "_ansible_diff": diff,
    }
    args.update(overrides)
    return run_module("env_file", args)


def test_creates_the_file_0600_with_every_value(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    rc, result, output = _run(run_module, path)
    assert rc == 0 and result["changed"], result
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == (
        "DEBUG=False\nDATABASE_HOST=db.internal\nDJANGO_SECRET_KEY=%s\nDATABASE_PASSWORD=%s\n" % (SECRET, PASSWORD)
    )
    assert result["written_keys"] == ["DEBUG", "DATABASE_HOST", "DJANGO_SECRET_KEY", "DATABASE_PASSWORD"]
    assert SECRET not in output and PASSWORD not in output


def test_a_second_run_changes_nothing(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    _run(run_module, path)
    rc, result, _output = _run(run_module, path)
    assert rc == 0 and not result["changed"] and result["changed_keys"] == []


def test_a_changed_secret_shows_masked_and_marked_in_the_diff(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    _run(run_module, path)
    rc, result, output = _run(run_module, path, values={"DEBUG": True, "DATABASE_HOST": "db.internal"},
                              secrets={"DJANGO_SECRET_KEY": "another-secret-value-entirely", "DATABASE_PASSWORD": PASSWORD})
    assert rc == 0 and result["changed"]
    assert result["changed_keys"] == ["DEBUG", "DJANGO_SECRET_KEY"]
    assert result["diff"]["before"] == "DEBUG=False\nDATABASE_HOST=db.internal\nDJANGO_SECRET_KEY=********\nDATABASE_PASSWORD=********\n"
    assert result["diff"]["after"] == (
        "DEBUG=True\nDATABASE_HOST=db.internal\nDJANGO_SECRET_KEY=******** (changed)\nDATABASE_PASSWORD=********\n"
    )
    assert "another-secret-value-entirely" not in output and SECRET not in output


def test_check_mode_reports_and_writes_nothing(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    rc, result, _output = _run(run_module, path, check_mode=True)
    assert rc == 0 and result["changed"] and not path.exists()
    assert result["diff"]["before"] == ""


def test_mode_drift_alone_is_a_change(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    _run(run_module, path)
    path.chmod(0o644)
    rc, result, _output = _run(run_module, path)
    assert rc == 0 and result["changed"] and result["changed_keys"] == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_value_with_a_line_break_fails_naming_the_key_not_the_value(tmp_path, run_module) -> None:
    rc, result, output = _run(run_module, tmp_path / "env", secrets={"DJANGO_SECRET_KEY": SECRET + "\nINJECTED=1"})
    assert rc == 1 and result["failed"]
    assert "the value of DJANGO_SECRET_KEY contains a line break" in result["msg"]
    assert SECRET not in output


def test_a_key_in_both_values_and_secrets_is_refused(tmp_path, run_module) -> None:
    rc, result, _output = _run(run_module, tmp_path / "env", values={"DEBUG": False, "DJANGO_SECRET_KEY": "x"})
    assert rc == 1 and "DJANGO_SECRET_KEY in both values and secrets" in result["msg"]


def test_a_new_file_is_never_readable_by_others_even_when_setting_the_owner_fails(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    old_umask = os.umask(0)  # the module inherits it: a plain create would make the file 0666
    try:
        rc, result, output = _run(run_module, path, owner="no-such-user-djangoops")
    finally:
        os.umask(old_umask)
    assert rc == 1 and result["failed"], result
    assert SECRET not in output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_fingerprint_follows_the_content_and_is_keyed_with_the_secrets(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    _rc, first, _output = _run(run_module, path)
    _rc, again, _output = _run(run_module, path)
    assert first["fingerprint"] == again["fingerprint"] and len(first["fingerprint"]) == 64
    # Not the file's plain checksum, which would let a guessed secret be checked against it.
    assert first["fingerprint"] != hashlib.sha256(path.read_bytes()).hexdigest()
    _rc, changed, _output = _run(run_module, path, values={"DEBUG": True, "DATABASE_HOST": "db.internal"})
    assert changed["fingerprint"] != first["fingerprint"]


def test_check_mode_fingerprints_what_the_file_would_hold(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    _rc, predicted, _output = _run(run_module, path, check_mode=True)
    _rc, written, _output = _run(run_module, path)
    assert predicted["fingerprint"] == written["fingerprint"]


# --- Secrets as files -------------------------------------------------------------------------------

def _files(tmp_path, **more: t.Any) -> dict:
    return {"secret_files": True, "secret_files_dir": str(tmp_path / "secrets"), "secret_files_path": "/run/secrets/polls",
            "secret_files_group": os.getegid(), **more}


def test_secret_files_hold_the_secrets_and_the_env_file_their_paths(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    rc, result, output = _run(run_module, path, **_files(tmp_path))
    assert rc == 0 and result["changed"], result
    assert path.read_text() == (
        "DEBUG=False\nDATABASE_HOST=db.internal\n"
        "DJANGO_SECRET_KEY_FILE=/run/secrets/polls/DJANGO_SECRET_KEY\n"
        "DATABASE_PASSWORD_FILE=/run/secrets/polls/DATABASE_PASSWORD\n"
    )
    secrets = tmp_path / "secrets"
    assert sorted(os.listdir(secrets)) == ["DATABASE_PASSWORD", "DJANGO_SECRET_KEY"]
    assert (secrets / "DJANGO_SECRET_KEY").read_text() == SECRET  # no trailing newline
    assert (secrets / "DATABASE_PASSWORD").read_text() == PASSWORD
    for entry in secrets.iterdir():
        info = entry.stat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o440, os.geteuid(), os.getegid())
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o750 and secrets.stat().st_gid == os.getegid()
    assert result["secret_files"] == [str(secrets / "DJANGO_SECRET_KEY"), str(secrets / "DATABASE_PASSWORD")]
    assert SECRET not in output and PASSWORD not in output


def test_secret_files_a_second_run_changes_nothing(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    _run(run_module, path, **_files(tmp_path))
    rc, result, _output = _run(run_module, path, **_files(tmp_path))
    assert rc == 0 and not result["changed"] and result["changed_keys"] == [], result


def test_secret_files_a_changed_secret_changes_its_file_the_fingerprint_and_shows_masked(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    _rc, first, _output = _run(run_module, path, **_files(tmp_path))
    env_before = path.read_text()
    rc, result, output = _run(run_module, path, secrets={"DJANGO_SECRET_KEY": "rotated-secret-value", "DATABASE_PASSWORD": PASSWORD},
                              **_files(tmp_path))
    assert rc == 0 and result["changed"]
    # The env file is the same (paths only); the secret's file and the fingerprint are not.
    assert path.read_text() == env_before
    assert (tmp_path / "secrets" / "DJANGO_SECRET_KEY").read_text() == "rotated-secret-value"
    assert result["fingerprint"] != first["fingerprint"]
    assert result["changed_keys"] == ["DJANGO_SECRET_KEY"]
    directory = str(tmp_path / "secrets")
    assert "%s/DJANGO_SECRET_KEY %d:%d 0440 ******** (changed)" % (directory, os.geteuid(), os.getegid()) in result["diff"]["after"]
    assert "%s/DATABASE_PASSWORD" % directory in result["diff"]["after"]
    assert "DJANGO_SECRET_KEY_FILE=/run/secrets/polls/DJANGO_SECRET_KEY" in result["diff"]["after"]
    for value in ("rotated-secret-value", SECRET, PASSWORD):
        assert value not in output


def test_secret_files_of_secrets_no_longer_given_are_removed(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    _run(run_module, path, **_files(tmp_path))
    rc, result, _output = _run(run_module, path, secrets={"DJANGO_SECRET_KEY": SECRET}, **_files(tmp_path))
    assert rc == 0 and result["changed"]
    assert os.listdir(tmp_path / "secrets") == ["DJANGO_SECRET_KEY"]
    assert "DATABASE_PASSWORD" not in path.read_text()


def test_secret_files_check_mode_writes_nothing_and_predicts_the_fingerprint(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    rc, predicted, _output = _run(run_module, path, check_mode=True, **_files(tmp_path))
    assert rc == 0 and predicted["changed"] and not path.exists() and not (tmp_path / "secrets").exists()
    _rc, written, _output = _run(run_module, path, **_files(tmp_path))
    assert predicted["fingerprint"] == written["fingerprint"]
    # A changed secret, in check mode: reported, not written.
    rc, result, _output = _run(run_module, path, check_mode=True, secrets={"DJANGO_SECRET_KEY": "x-other", "DATABASE_PASSWORD": PASSWORD},
                               **_files(tmp_path))
    assert rc == 0 and result["changed"] and (tmp_path / "secrets" / "DJANGO_SECRET_KEY").read_text() == SECRET


def test_secret_files_switched_off_put_the_values_back_and_remove_the_directory(tmp_path, run_module) -> None:
    path = tmp_path / "env"
    _rc, plain, _output = _run(run_module, path)
    _run(run_module, path, **_files(tmp_path))
    assert (tmp_path / "secrets").is_dir()
    rc, result, _output = _run(run_module, path, secret_files=False, secret_files_dir=str(tmp_path / "secrets"))
    assert rc == 0 and result["changed"]
    assert not (tmp_path / "secrets").exists()
    assert "DJANGO_SECRET_KEY=%s\n" % SECRET in path.read_text()
    # The same file, and so the same fingerprint, as before the switch: nothing reruns for it.
    assert result["fingerprint"] == plain["fingerprint"]
    rc, again, _output = _run(run_module, path, secret_files=False, secret_files_dir=str(tmp_path / "secrets"))
    assert rc == 0 and not again["changed"]


def test_secret_files_switch_changes_the_fingerprint(tmp_path, run_module) -> None:
    _rc, plain, _output = _run(run_module, tmp_path / "env", check_mode=True)
    _rc, files, _output = _run(run_module, tmp_path / "env", check_mode=True, **_files(tmp_path))
    assert plain["fingerprint"] != files["fingerprint"]


def test_secret_files_a_setting_named_like_a_path_is_refused(tmp_path, run_module) -> None:
    rc, result, output = _run(run_module, tmp_path / "env", values={"DJANGO_SECRET_KEY_FILE": "/elsewhere"}, **_files(tmp_path))
    assert rc == 1 and "DJANGO_SECRET_KEY_FILE would be set twice" in result["msg"]
    assert SECRET not in output and not (tmp_path / "env").exists()


def test_secret_files_need_their_directory_mount_and_group(tmp_path, run_module) -> None:
    rc, result, _output = _run(run_module, tmp_path / "env", secret_files=True)
    assert rc == 1 and "secret_files_dir" in result["msg"] and "secret_files_group" in result["msg"]
