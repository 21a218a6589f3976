"""Checks on the app servers, read as root inside each (conftest.server_hosts)."""

from __future__ import annotations

import json

import pytest

from conftest import server_hosts


pytestmark = pytest.mark.readonly

testinfra_hosts = server_hosts("django_app")


def test_env_file_is_root_only(host):
    env = host.file("/etc/djangoops/polls/env")
    assert env.user == "root" and env.group == "root"
    assert env.mode == 0o600
    assert host.file("/etc/djangoops/polls").mode == 0o700


def test_app_container_runs_with_its_server_name_and_restart_policy(host):
    inspect = json.loads(host.check_output("docker inspect polls"))[0]
    assert inspect["State"]["Running"]
    inventory_name = host.backend.name.removeprefix("djangoops-lab-")  # server_hosts: docker://djangoops-lab-<name>
    assert inspect["Config"]["Hostname"] == inventory_name
    assert inspect["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
