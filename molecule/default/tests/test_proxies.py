"""Checks on the proxies, over SSH as Ansible reaches them (with sudo)."""

from __future__ import annotations

import json

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
    assert host.run("docker exec nginx nginx -t -c /etc/nginx/djangoops/nginx.conf").rc == 0


def test_upstream_lists_every_app_server_by_private_name(host, lab):
    # The inventory gives private names (site_private_address_var: private_name); Nginx resolves them.
    upstream = host.file("/etc/djangoops/nginx/conf.d/upstream.conf").content_string
    for name in lab.app_servers:
        assert f"server {lab.private_name(name)}:8000" in upstream
