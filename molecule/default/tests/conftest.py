"""Shared fixtures for the lab checks: the lab's topology (read from its inventory) and the client."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import testinfra

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
LAB_DIR = Path(os.environ.get("DJANGOOPS_LAB_DIR", PROJECT / ".lab"))


@dataclass(frozen=True)
class Lab:
    """What the checks need to know about the lab, from inventories/lab."""

    domain: str
    proxy_public: str
    app_servers: dict[str, dict]
    s3_endpoint: str
    state_dir: Path

    def secret(self, name: str) -> str:
        return (self.state_dir / "secrets" / name).read_text().split()[0]


@pytest.fixture(scope="session")
def lab() -> Lab:
    out = subprocess.run(
        ["ansible-inventory", "-i", str(PROJECT / "inventories" / "lab"), "--list"],
        check=True, capture_output=True, text=True,
    ).stdout
    inventory = json.loads(out)
    hostvars = inventory["_meta"]["hostvars"]
    all_vars = hostvars[inventory["nginx_proxy"]["hosts"][0]]
    proxy = inventory["nginx_proxy"]["hosts"][0]
    return Lab(
        domain=all_vars["lab_domain"],
        proxy_public=hostvars[proxy]["ansible_host"],
        app_servers={name: hostvars[name] for name in inventory["django_app"]["hosts"]},
        s3_endpoint=f"http://{all_vars['lab_s3_public_address']}:{all_vars['lab_s3_port']}",
        state_dir=LAB_DIR,
    )


class Client:
    """The lab's outside client on the public network; commands run in its container."""

    def __init__(self, lab: Lab) -> None:
        self.host = testinfra.get_host("docker://djangoops-lab-client")
        self.lab = lab

    def run(self, command: str):
        return self.host.run(command)

    def curl(self, url: str, *args: str, ca: str = "pebble-production-root.pem"):
        """curl the site as a browser would: the domain resolves to the proxy's public address."""
        resolve = [arg for port in (80, 443) for arg in ("--resolve", f"{self.lab.domain}:{port}:{self.lab.proxy_public}")]
        command = ["curl", "-sS", "--max-time", "10", "--cacert", f"/lab/pki/{ca}", *resolve, *args, url]
        return self.host.run(shlex.join(command))


@pytest.fixture(scope="session")
def client(lab: Lab) -> Client:
    return Client(lab)


def run_playbook(playbook: str, *args: str, inventories: tuple[str, ...] = ("inventories/lab",)) -> subprocess.CompletedProcess:
    """Run a playbook of this project with its own ansible.cfg, as `make` does; output uncoloured."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    command = ["ansible-playbook", *(arg for inventory in inventories for arg in ("-i", str(PROJECT / inventory)))]
    return subprocess.run(
        [*command, str(PROJECT / playbook), *args],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )


@pytest.fixture(scope="session")
def host_files():
    """Read a file on the first proxy as root (over SSH through Ansible, like the checks on servers)."""
    proxy = testinfra.get_host("ansible://proxy1?ansible_inventory=%s&force_ansible=True" % (PROJECT / "inventories" / "lab"), sudo=True)

    def read(path: str) -> str:
        return proxy.file(path).content_string

    return read
