# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run the config_files module for real (a subprocess, as Ansible runs it) against a temp dir."""

from __future__ import annotations

import os
import stat

import pytest

FILES = {"nginx.conf": "events {}\n", "conf.d/10-site.conf": "server {}\n"}


def _run(run_module, path, files, check_mode=False, **options) -> tuple[int, dict]:
    args = {"path": str(path), "files": files, "_ansible_check_mode": check_mode, "_ansible_diff": True, **options}
    return run_module("config_files", args)[:2]


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_directory_is_created_written_and_then_left_alone(tmp_path, run_module) -> None:
    root = tmp_path / "nginx.candidate"
    webroot = tmp_path / "www" / "certbot"
    rc, result = _run(run_module, root, FILES, directories=[str(webroot)])
    assert rc == 0 and result["changed"], result
    assert result["changed_files"] == ["conf.d/10-site.conf", "nginx.conf"]
    assert result["created_directories"] == [str(root), str(root / "conf.d"), str(tmp_path / "www"), str(webroot)]
    assert (root / "nginx.conf").read_text() == "events {}\n" and (root / "conf.d" / "10-site.conf").read_text() == "server {}\n"
    assert _mode(root / "nginx.conf") == 0o644 and _mode(root / "conf.d") == 0o755 and _mode(webroot) == 0o755
    assert [entry["after"] for entry in result["diff"]] == ["server {}\n", "events {}\n"]
    rc, result = _run(run_module, root, FILES, directories=[str(webroot)])
    assert rc == 0 and not result["changed"] and result["changed_files"] == [] and result["diff"] == [], result


def test_a_changed_file_and_a_changed_mode_are_put_right_other_files_stay(tmp_path, run_module) -> None:
    root = tmp_path / "nginx.candidate"
    assert _run(run_module, root, FILES)[0] == 0
    (root / "conf.d" / "upstream.conf").write_text("upstream django {}\n")  # another task's file
    (root / "nginx.conf").chmod(0o600)
    rc, result = _run(run_module, root, FILES)
    assert rc == 0 and result["changed"] and result["changed_files"] == [], result  # the mode only
    assert _mode(root / "nginx.conf") == 0o644
    rc, result = _run(run_module, root, dict(FILES, **{"nginx.conf": "events { worker_connections 512; }\n"}))
    assert rc == 0 and result["changed_files"] == ["nginx.conf"]
    assert result["diff"][0]["before"] == "events {}\n"
    assert (root / "conf.d" / "upstream.conf").read_text() == "upstream django {}\n"


def test_check_mode_writes_nothing_and_says_what_it_would(tmp_path, run_module) -> None:
    root = tmp_path / "nginx.candidate"
    rc, result = _run(run_module, root, FILES, check_mode=True)
    assert rc == 0 and result["changed"] and result["changed_files"] == ["conf.d/10-site.conf", "nginx.conf"]
    assert not root.exists()
    assert _run(run_module, root, FILES)[0] == 0
    (root / "nginx.conf").chmod(0o600)
    rc, result = _run(run_module, root, FILES, check_mode=True)
    assert rc == 0 and result["changed"] and _mode(root / "nginx.conf") == 0o600


@pytest.mark.parametrize("files, message", [
    ({"../nginx.conf": "x"}, "files: '../nginx.conf' is not a file name inside the directory"),
    ({"nginx.conf": 3}, "files: the content of nginx.conf is not text"),
])
def test_bad_files_fail_naming_them_and_write_nothing(tmp_path, run_module, files, message) -> None:
    rc, result = _run(run_module, tmp_path / "nginx.candidate", files)
    assert rc == 1 and result["msg"].startswith(message), result
    assert not (tmp_path / "nginx.candidate").exists()


def test_a_relative_path_is_refused(tmp_path, run_module) -> None:
    rc, result = _run(run_module, "nginx.candidate", FILES)
    assert rc == 1 and result["msg"] == "path: 'nginx.candidate' is not an absolute path", result
