# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run the nginx_upstream_drain module for real against upstream files in a temp dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

MODULE = "ansible_collections.djangoops.fleet.plugins.modules.nginx_upstream_drain"
UPSTREAM = (
    "# Managed by djangoops.fleet.nginx_upstream\n"
    "upstream django {\n"
    "    server 10.0.0.11:8000 max_fails=3 fail_timeout=10s;  # app1\n"
    "    server 10.0.0.12:8000 max_fails=3 fail_timeout=10s;  # app2\n"
    "    keepalive 32;\n"
    "}\n"
)


def _run(collections_root, path, hosts, state="drained", check_mode=False, **options) -> tuple[int, dict]:
    args = {"path": str(path), "hosts": hosts, "state": state, "_ansible_check_mode": check_mode, "_ansible_diff": True, **options}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(collections_root), env.get("PYTHONPATH")]))
    process = subprocess.run([sys.executable, "-m", MODULE], input=json.dumps({"ANSIBLE_MODULE_ARGS": args}),
                             capture_output=True, text=True, env=env, check=False, timeout=60)
    try:
        return process.returncode, json.loads(process.stdout)
    except ValueError:
        pytest.fail("module printed no JSON: %s %s" % (process.stdout, process.stderr))
        raise


def test_drain_then_activate(tmp_path, collections_root) -> None:
    path = tmp_path / "upstream.conf"
    path.write_text(UPSTREAM)
    rc, result = _run(collections_root, path, ["app1"])
    assert rc == 0 and result["changed"] and result["changed_hosts"] == ["app1"]
    assert "    server 10.0.0.11:8000 max_fails=3 fail_timeout=10s down;  # app1\n" in path.read_text()
    assert result["diff"]["before"] == UPSTREAM
    rc, result = _run(collections_root, path, ["app1"])
    assert rc == 0 and not result["changed"]
    rc, result = _run(collections_root, path, ["app1"], state="active")
    assert rc == 0 and result["changed"] and path.read_text() == UPSTREAM


def test_check_mode_leaves_the_file(tmp_path, collections_root) -> None:
    path = tmp_path / "upstream.conf"
    path.write_text(UPSTREAM)
    rc, result = _run(collections_root, path, ["app2"], check_mode=True)
    assert rc == 0 and result["changed"] and path.read_text() == UPSTREAM


def test_no_file_yet_is_nothing_to_drain(tmp_path, collections_root) -> None:
    rc, result = _run(collections_root, tmp_path / "absent.conf", ["app1"])
    assert rc == 0 and not result["changed"] and result["missing"] == ["app1"]


def test_draining_everything_fails_and_leaves_the_file(tmp_path, collections_root) -> None:
    path = tmp_path / "upstream.conf"
    path.write_text(UPSTREAM)
    rc, result = _run(collections_root, path, ["app1", "app2"])
    assert rc == 1 and "would leave no server taking traffic" in result["msg"]
    assert path.read_text() == UPSTREAM


def test_a_lone_server_is_left_in_place_when_asked(tmp_path, collections_root) -> None:
    path = tmp_path / "upstream.conf"
    path.write_text(UPSTREAM)
    rc, result = _run(collections_root, path, ["app1", "app2"], if_none_left="skip")
    assert rc == 0 and not result["changed"] and result["none_left"]
    assert path.read_text() == UPSTREAM
