"""Checks on the servers themselves, over the same SSH connection Ansible uses."""

from __future__ import annotations

import json

import pytest

testinfra_hosts = ["ansible://django_app", "ansible://nginx_proxy"]


def _is(host, group: str) -> bool:
    return group in host.ansible.get_variables()["group_names"]


def test_env_file_is_root_only(host):
    if not _is(host, "django_app"):
        pytest.skip("app servers only")
    env = host.file("/etc/djangoops/polls/env")
    assert env.user == "root" and env.group == "root"
    assert env.mode == 0o600
    assert host.file("/etc/djangoops/polls").mode == 0o700


def test_app_container_runs_with_its_server_name_and_restart_policy(host):
    if not _is(host, "django_app"):
        pytest.skip("app servers only")
    inspect = json.loads(host.check_output("docker inspect polls"))[0]
    assert inspect["State"]["Running"]
    assert inspect["Config"]["Hostname"] == host.ansible.get_variables()["inventory_hostname"]
    assert inspect["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"


def test_nginx_serves_a_tested_config_directory(host):
    if not _is(host, "nginx_proxy"):
        pytest.skip("proxies only")
    inspect = json.loads(host.check_output("docker inspect nginx"))[0]
    assert inspect["State"]["Running"]
    mounts = {m["Destination"]: m for m in inspect["Mounts"]}
    assert mounts["/etc/nginx/djangoops"]["Source"] == "/etc/djangoops/nginx"
    assert mounts["/etc/nginx/djangoops"]["RW"] is False
    assert host.run("docker exec nginx nginx -t -c /etc/nginx/djangoops/nginx.conf").rc == 0


def test_upstream_lists_every_app_server_by_private_address(host, lab):
    if not _is(host, "nginx_proxy"):
        pytest.skip("proxies only")
    upstream = host.file("/etc/djangoops/nginx/conf.d/upstream.conf").content_string
    for app in lab.app_servers.values():
        assert f"server {app['private_address']}:8000" in upstream


def test_renewal_job_is_scheduled(host):
    if not _is(host, "nginx_proxy"):
        pytest.skip("proxies only")
    crontab = host.check_output("crontab -l -u root")
    assert "/usr/local/sbin/djangoops-certbot-renew" in crontab


def test_no_secret_outside_the_env_file(host, lab):
    secrets = [lab.secret(name) for name in ("django_secret_key", "database_password", "admin_password")]
    # Search the places a careless role would leave them: configs, /tmp, home directories, cron.
    for secret in secrets:
        found = host.run(
            "grep -rlF -- %s /etc /tmp /home /root /var/spool/cron /usr/local 2>/dev/null", secret
        ).stdout.split()
        assert found in ([], ["/etc/djangoops/polls/env"]), found
