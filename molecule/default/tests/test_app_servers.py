"""Checks on the app servers, read as root inside each (conftest.server_hosts)."""

from __future__ import annotations

import hashlib
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


# The app container's label with the sha256 of the storage CA bundle it was started with: a new
# bundle changes the label, so the container is replaced and the app reads the new bundle.
CA_LABEL = "djangoops.fleet.static-ca-sha256"
CA_ON_HOST = "/etc/djangoops/polls/static-ca.pem"  # <django_app_config_dir>/static-ca.pem
CA_IN_CONTAINER = "/etc/djangoops/static-ca.pem"  # AWS_CA_BUNDLE


def test_a_new_storage_ca_bundle_reaches_the_running_app_container(host, lab):
    """The running app container carries the sha256 of the CA bundle the role put on its server, and sees
    that very file."""
    assert lab.all_vars.get("django_app_static_ca_bundle"), "the lab sets no storage CA bundle: nothing to check"
    controller = hashlib.sha256((lab.state_dir / "pki" / "lab-ca.pem").read_bytes()).hexdigest()
    on_host = host.check_output(f"sha256sum {CA_ON_HOST}").split()[0]
    label = host.check_output(f"docker inspect --format '{{{{index .Config.Labels \"{CA_LABEL}\"}}}}' polls")
    in_container = host.check_output(
        f"docker exec polls python -c 'import hashlib; print(hashlib.sha256(open(\"{CA_IN_CONTAINER}\", \"rb\").read()).hexdigest())'")
    assert on_host == controller, (on_host, controller)
    assert label == on_host, (label, on_host)
    assert in_container == on_host, (in_container, on_host)
