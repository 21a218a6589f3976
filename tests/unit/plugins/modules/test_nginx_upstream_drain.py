# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run the nginx_upstream_drain module for real against upstream files in a temp dir."""

from __future__ import annotations

UPSTREAM = (
    "# Managed by djangoops.fleet.nginx_upstream\n"
    "upstream django {\n"
    "    server 10.0.0.11:8000 max_fails=3 fail_timeout=10s;  # app1\n"
    "    server 10.0.0.12:8000 max_fails=3 fail_timeout=10s;  # app2\n"
    "    keepalive 32;\n"
    "}\n"
)


def _run(run_module, path, hosts, state="drained", check_mode=False, bin_dir=None, **options) -> tuple[int, dict]:
    args = {"path": str(path), "hosts": hosts, "state": state, "_ansible_check_mode": check_mode, "_ansible_diff": True, **options}
    return run_module("nginx_upstream_drain", args, bin_dir)[:2]


def test_drain_then_activate(tmp_path, run_module) -> None:
    path = tmp_path / "upstream.conf"
    path.write_text(UPSTREAM)
    rc, result = _run(run_module, path, ["app1"])
    assert rc == 0 and result["changed"] and result["changed_hosts"] == ["app1"]
    assert "    server 10.0.0.11:8000 max_fails=3 fail_timeout=10s down;  # app1\n" in path.read_text()
    assert result["diff"]["before"] == UPSTREAM
    rc, result = _run(run_module, path, ["app1"])
    assert rc == 0 and not result["changed"]
    rc, result = _run(run_module, path, ["app1"], state="active")
    assert rc == 0 and result["changed"] and path.read_text() == UPSTREAM


def test_check_mode_leaves_the_file(tmp_path, run_module) -> None:
    path = tmp_path / "upstream.conf"
    path.write_text(UPSTREAM)
    rc, result = _run(run_module, path, ["app2"], check_mode=True)
    assert rc == 0 and result["changed"] and path.read_text() == UPSTREAM


def test_no_file_yet_is_nothing_to_drain(tmp_path, run_module) -> None:
    rc, result = _run(run_module, tmp_path / "absent.conf", ["app1"])
    assert rc == 0 and not result["changed"] and result["missing"] == ["app1"]


def test_draining_everything_fails_and_leaves_the_file(tmp_path, run_module) -> None:
    path = tmp_path / "upstream.conf"
    path.write_text(UPSTREAM)
    rc, result = _run(run_module, path, ["app1", "app2"])
    assert rc == 1 and "would leave no server taking traffic" in result["msg"]
    assert path.read_text() == UPSTREAM


def test_a_lone_server_is_left_in_place_when_asked(tmp_path, run_module) -> None:
    path = tmp_path / "upstream.conf"
    path.write_text(UPSTREAM)
    rc, result = _run(run_module, path, ["app1", "app2"], if_none_left="skip")
    assert rc == 0 and not result["changed"] and result["none_left"]
    assert path.read_text() == UPSTREAM


def test_a_lone_server_is_sent_to_its_standby_port_and_back(tmp_path, run_module) -> None:
    path = tmp_path / "upstream.conf"
    path.write_text(UPSTREAM)
    rc, result = _run(run_module, path, ["app1"], state="active", port=8001)
    assert rc == 0 and result["changed"] and result["changed_hosts"] == ["app1"]
    assert path.read_text() == UPSTREAM.replace("10.0.0.11:8000", "10.0.0.11:8001")
    rc, result = _run(run_module, path, ["app1", "app2"], state="active", port=8000)
    assert rc == 0 and result["changed_hosts"] == ["app1"] and path.read_text() == UPSTREAM


def _fake_docker(tmp_path, exit_code=0):
    """A ``docker`` command that records its arguments (and fails when asked), first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "docker-calls"
    docker = bin_dir / "docker"
    docker.write_text('#!/bin/sh\necho "$@" >> %s\necho "nginx: reload refused" >&2\nexit %d\n' % (calls, exit_code))
    docker.chmod(0o755)
    return bin_dir, calls


def test_a_changed_upstream_reloads_nginx_in_the_same_run(tmp_path, run_module) -> None:
    path = tmp_path / "upstream.conf"
    path.write_text(UPSTREAM)
    bin_dir, calls = _fake_docker(tmp_path)
    reload = {"reload_container": "nginx", "reload_config": "/etc/djangoops/nginx/nginx.conf"}
    rc, result = _run(run_module, path, ["app1"], bin_dir=bin_dir, **reload)
    assert rc == 0 and result["changed"] and result["reloaded"], result
    assert calls.read_text() == "exec nginx nginx -c /etc/djangoops/nginx/nginx.conf -s reload\n"
    # Unchanged, or in check mode: no reload.
    rc, result = _run(run_module, path, ["app1"], bin_dir=bin_dir, **reload)
    assert rc == 0 and not result["changed"] and not result["reloaded"]
    rc, result = _run(run_module, path, ["app1"], state="active", check_mode=True, bin_dir=bin_dir, **reload)
    assert rc == 0 and result["changed"] and not result["reloaded"]
    assert len(calls.read_text().splitlines()) == 1


def test_a_failed_reload_fails_naming_the_container_and_the_changed_file(tmp_path, run_module) -> None:
    path = tmp_path / "upstream.conf"
    path.write_text(UPSTREAM)
    bin_dir = _fake_docker(tmp_path, exit_code=1)[0]
    rc, result = _run(run_module, path, ["app2"], bin_dir=bin_dir, reload_container="nginx")
    assert rc == 1 and not result["reloaded"], result
    assert result["msg"] == ("%s changed (app2), but reloading Nginx in container nginx failed (exit 1): nginx: reload refused" % path)
    assert "down;  # app2" in path.read_text()  # the file stays changed, as the message says
