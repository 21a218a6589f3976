# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""playbooks/maintenance.yml, run for real on local connections against two proxies whose live configuration
directories are temporary ones: the flag file appears and goes, a second run changes nothing, check mode writes
nothing, a bad or missing state stops the run before any proxy is contacted, and a live configuration without
maintenance mode stops it with nothing changed. Nginx itself is not needed (the flag is all the switch writes)."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import typing as t

import pytest

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
PROXIES = ("proxy1.example.com", "proxy2.example.com")

# ansible_become false: a connection variable outranks the tasks' `become: true`, so the test needs no sudo.
INVENTORY = """
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    ansible_become: false
  children:
    django_app:
      hosts:
        app1.example.com: {private_address: 192.0.2.11}
    nginx_proxy:
      hosts:
        proxy1.example.com: {private_address: 192.0.2.21}
        proxy2.example.com: {private_address: 192.0.2.22}
"""

# What the live 10-site.conf of a converged proxy holds, as far as the switch reads it.
SERVES_MAINTENANCE = "    if (-f /etc/nginx/djangoops/maintenance/on) {\n        set $djangoops_maintenance on;\n    }\n"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


class Proxies:
    """Two proxies on this machine, each with the local fact nginx_proxy publishes and a live directory."""

    def __init__(self, root: pathlib.Path, env: dict[str, str], ansible_playbook: pathlib.Path) -> None:
        self.root, self.env, self.ansible_playbook = root, env, ansible_playbook
        (root / "inventory.yml").write_text(INVENTORY)
        for proxy in PROXIES:
            (self.config_dir(proxy) / "conf.d").mkdir(parents=True)
            (self.config_dir(proxy) / "maintenance").mkdir()
            (self.config_dir(proxy) / "conf.d" / "10-site.conf").write_text("server {\n" + SERVES_MAINTENANCE + "}\n")
            fact = {"container": "nginx", "config_dir": str(self.config_dir(proxy)), "config_file": "/etc/nginx/djangoops/nginx.conf"}
            (root / proxy / "fact.json").write_text(json.dumps(fact))

    def config_dir(self, proxy: str) -> pathlib.Path:
        return self.root / proxy / "nginx"

    def flags(self) -> dict[str, bool]:
        return {proxy: (self.config_dir(proxy) / "maintenance" / "on").is_file() for proxy in PROXIES}

    def run(self, *args: str) -> subprocess.CompletedProcess:
        # Extra vars outrank the role's vars: each proxy's published fact is read from its temporary directory.
        settings = {"site_server_names": ["www.example.com"],
                    "__nginx_proxy_fact_file": str(self.root) + "/{{ inventory_hostname }}/fact.json"}
        process = subprocess.run(
            [str(self.ansible_playbook), "-i", str(self.root / "inventory.yml"), str(CHECKOUT / "playbooks" / "maintenance.yml"),
             "-e", json.dumps(settings), *args],
            env=self.env, cwd=self.root, capture_output=True, text=True, timeout=300, check=False,
        )
        return process

    @staticmethod
    def changed(run: subprocess.CompletedProcess) -> dict[str, int]:
        recap = {host: (int(changed), int(failed)) for host, _ok, changed, _unreachable, failed in RECAP.findall(run.stdout)}
        assert all(failed == 0 for _changed, failed in recap.values()), run.stdout + run.stderr
        return {host: changed for host, (changed, _failed) in recap.items() if host in PROXIES}


@pytest.fixture
def proxies(tmp_path: pathlib.Path, isolated_ansible_env: t.Callable, ansible_playbook: pathlib.Path) -> Proxies:
    return Proxies(tmp_path, isolated_ansible_env(tmp_path), ansible_playbook)


def _said(run: subprocess.CompletedProcess) -> str:
    return " ".join((run.stdout + run.stderr).split())


def test_on_then_on_again_then_off(proxies: Proxies) -> None:
    on = proxies.run("-e", "state=on")
    assert on.returncode == 0, on.stdout + on.stderr
    assert proxies.flags() == dict.fromkeys(PROXIES, True)
    assert proxies.changed(on) == dict.fromkeys(PROXIES, 1)
    # The first play checked the state on the controller; the proxies were switched without the fleet lock.
    assert "Fleet lock" not in on.stdout

    again = proxies.run("-e", "state=on")
    assert again.returncode == 0, again.stdout + again.stderr
    assert proxies.changed(again) == dict.fromkeys(PROXIES, 0)

    off = proxies.run("-e", "state=off")
    assert off.returncode == 0, off.stdout + off.stderr
    assert proxies.flags() == dict.fromkeys(PROXIES, False)
    assert proxies.changed(off) == dict.fromkeys(PROXIES, 1)


@pytest.mark.parametrize(("args", "flag"), [
    (("-e", '{"state": true}'), True),  # JSON
    (("-e", "{state: on}"), True),  # YAML 1.1: a boolean
    (("-e", "nginx_proxy_maintenance_state=on"), True),  # the role's own variable, as AWX's survey gives it
    (("-e", '{"nginx_proxy_maintenance_state": true}'), True),
    (("-e", "nginx_proxy_maintenance_state=True"), True),  # a boolean as `-e name=value` gives it
    (("-e", "state=on", "-e", "nginx_proxy_maintenance_state=on"), True),  # both, agreeing
], ids=["json-true", "yaml-on", "role-variable", "role-variable-json-true", "role-variable-True", "both"])
def test_every_spelling_of_on(proxies: Proxies, args: tuple[str, ...], flag: bool) -> None:
    run = proxies.run(*args)
    assert run.returncode == 0, run.stdout + run.stderr
    assert proxies.flags() == dict.fromkeys(PROXIES, flag)


@pytest.mark.parametrize("args", [("-e", "{state: off}"), ("-e", '{"nginx_proxy_maintenance_state": false}')], ids=["yaml-off", "json-false"])
def test_off_as_a_boolean(proxies: Proxies, args: tuple[str, ...]) -> None:
    assert proxies.run("-e", "state=on").returncode == 0
    run = proxies.run(*args)
    assert run.returncode == 0, run.stdout + run.stderr
    assert proxies.flags() == dict.fromkeys(PROXIES, False)


def test_check_mode_says_what_would_switch_and_writes_nothing(proxies: Proxies) -> None:
    run = proxies.run("--check", "--diff", "-e", "state=on")
    assert run.returncode == 0, run.stdout + run.stderr
    assert proxies.changed(run) == dict.fromkeys(PROXIES, 1)
    assert proxies.flags() == dict.fromkeys(PROXIES, False)


@pytest.mark.parametrize(("args", "says"), [
    ((), "Say which state maintenance mode should be in: -e state=on or -e state=off"),
    (("-e", "state=maybe"), "state must be on or off (got 'maybe')"),
    (("-e", "nginx_proxy_maintenance_state=later"), "nginx_proxy_maintenance_state must be on or off (got 'later')"),
    (("-e", "state=on", "-e", "nginx_proxy_maintenance_state=off"), "state and nginx_proxy_maintenance_state disagree"),
], ids=["missing", "bad-state", "bad-role-variable", "disagreeing"])
def test_a_bad_state_stops_before_any_proxy_is_contacted(proxies: Proxies, args: tuple[str, ...], says: str) -> None:
    run = proxies.run(*args)
    assert run.returncode != 0, run.stdout + run.stderr
    assert says in _said(run), run.stdout + run.stderr
    assert "PLAY [Maintenance | switch every proxy]" not in run.stdout
    assert proxies.flags() == dict.fromkeys(PROXIES, False)


def test_a_live_configuration_without_maintenance_mode_stops_the_run_with_nothing_changed(proxies: Proxies) -> None:
    (proxies.config_dir(PROXIES[1]) / "conf.d" / "10-site.conf").write_text("server {\n}\n")
    run = proxies.run("-e", "state=on")
    assert run.returncode != 0, run.stdout + run.stderr
    assert (f"{PROXIES[1]}: the live Nginx configuration ({proxies.config_dir(PROXIES[1])}/conf.d/10-site.conf) has no"
            " maintenance mode") in _said(run), run.stdout + run.stderr
    assert "Run playbooks/site.yml first" in _said(run)
    # any_errors_fatal: no proxy switched, also not the one that could have.
    assert proxies.flags() == dict.fromkeys(PROXIES, False)


def test_a_proxy_nginx_proxy_never_converged_stops_the_run(proxies: Proxies) -> None:
    (proxies.root / PROXIES[0] / "fact.json").unlink()
    run = proxies.run("-e", "state=on")
    assert run.returncode != 0, run.stdout + run.stderr
    assert "so nginx_proxy never converged this proxy" in _said(run), run.stdout + run.stderr
    assert proxies.flags() == dict.fromkeys(PROXIES, False)
