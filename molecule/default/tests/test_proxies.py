"""Checks on the proxies, read as root inside each (conftest.server_hosts)."""

from __future__ import annotations

import json
import re

import pytest

from conftest import server_hosts


pytestmark = pytest.mark.readonly

testinfra_hosts = server_hosts("nginx_proxy")


def test_nginx_serves_a_tested_config_directory(host):
    inspect = json.loads(host.check_output("docker inspect nginx"))[0]
    assert inspect["State"]["Running"]
    mounts = {m["Destination"]: m for m in inspect["Mounts"]}
    assert mounts["/etc/nginx/djangoops"]["Source"] == "/etc/djangoops/nginx"
    assert mounts["/etc/nginx/djangoops"]["RW"] is False
    tested = host.run("docker exec nginx nginx -t -c /etc/nginx/djangoops/nginx.conf")
    assert tested.rc == 0, tested.stderr
    # No warning, a deprecated directive included: Nginx 1.25.1 and later get `http2 on`, not `listen ... http2`.
    assert "[warn]" not in tested.stderr and "syntax is ok" in tested.stderr, tested.stderr
    assert "http2 on;" in host.file("/etc/djangoops/nginx/conf.d/10-site.conf").content_string


def test_upstream_lists_every_app_server_by_private_name(host, lab):
    # The inventory gives private names (site_private_address_var: private_name); Nginx resolves them.
    upstream = host.file("/etc/djangoops/nginx/conf.d/upstream.conf").content_string
    for name in lab.app_servers:
        assert f"server {lab.private_name(name)}:8000" in upstream


def test_nginx_takes_the_http2_directive_as_the_roles_default_image_does(host):
    """The lab's stand-in for the official image (the role defaults to nginx:1.28.0) is an Nginx of
    1.25.1 or later, which warns of `listen ... http2`: the configuration test above must not warn."""
    nginx = host.check_output("docker exec nginx nginx -v 2>&1")
    assert tuple(int(part) for part in re.search(r"nginx/(\d+)\.(\d+)", nginx).groups()) >= (1, 25), nginx
