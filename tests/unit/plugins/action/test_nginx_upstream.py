# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run djangoops.fleet.nginx_upstream in a real ansible-playbook on localhost.

The play targets localhost only; the django_app hosts sit on documentation addresses that
nothing answers on, so a run that tried to contact them would not pass.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import textwrap

import pytest

INVENTORY = """
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
  children:
    django_app:
      vars:
        subnet: 192.0.2
      hosts:
        app3.example.com:
          ansible_host: "2001:db8::13"
          nginx_upstream_weight: 2
        app1.example.com:
          private_address: "{{ subnet }}.11"
        app2.example.com:
          private_address: 192.0.2.12
    django_canary:
      hosts:
        app2.example.com:
"""

PLAYBOOK = """
- name: Write the upstream block
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Ensure the upstream file lists the app servers
      djangoops.fleet.nginx_upstream:
        groups: "{{ upstream_groups | default(['django_app', 'django_canary']) }}"
        drain: "{{ upstream_drain | default([]) }}"
        dest: "{{ upstream_dest }}"
        mode: "0640"
      register: upstream_result

    - name: Check the returned servers
      ansible.builtin.assert:
        that:
          - upstream_result.servers | map(attribute='host') | list
            == ['app1.example.com', 'app2.example.com', 'app3.example.com']
          - upstream_result.servers[2].address == '2001:db8::13'
          - upstream_result.servers[2].weight == 2
          - upstream_result.upstream.startswith('# Managed by Ansible')
"""

EXPECTED = """\
# Managed by Ansible (djangoops.fleet.nginx_upstream): do not edit.
upstream django {
    zone upstream_django 64k;
    server 192.0.2.11:8000 max_fails=3 fail_timeout=10s;  # app1.example.com
    server 192.0.2.12:8000 max_fails=3 fail_timeout=10s;  # app2.example.com
    server [2001:db8::13]:8000 weight=2 max_fails=3 fail_timeout=10s;  # app3.example.com
    keepalive 32;
}
"""

RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


class Playbook:
    """ansible-playbook with this checkout as djangoops.fleet and a private Ansible home."""

    def __init__(self, tmp_path: pathlib.Path, collections_root: pathlib.Path, ansible_playbook: pathlib.Path) -> None:
        self.ansible_playbook = ansible_playbook
        self.dest = tmp_path / "etc" / "upstream.conf"
        self.dest.parent.mkdir()
        self.inventory = tmp_path / "inventory.yml"
        self.inventory.write_text(INVENTORY)
        self.playbook = tmp_path / "playbook.yml"
        self.playbook.write_text(PLAYBOOK)
        self.config = tmp_path / "ansible.cfg"
        self.config.write_text("[defaults]\n")
        self.cwd = tmp_path
        self.env = {
            key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")
        }
        self.env.update(
            ANSIBLE_COLLECTIONS_PATH=str(collections_root),
            ANSIBLE_HOME=str(tmp_path / "ansible-home"),
            ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
            ANSIBLE_REMOTE_TEMP=str(tmp_path / "remote-tmp"),
            # An empty configuration: no ansible.cfg of the machine or the user applies.
            ANSIBLE_CONFIG=str(self.config),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_RETRY_FILES_ENABLED="0",
        )

    def run(self, *options: str, extra_vars: str = "{}") -> tuple[subprocess.CompletedProcess[str], dict[str, int]]:
        """Run the playbook; return the process and localhost's recap counters."""
        command = [
            str(self.ansible_playbook), "-i", str(self.inventory), str(self.playbook),
            "-e", "upstream_dest=%s" % self.dest, "-e", extra_vars, *options,
        ]
        process = subprocess.run(command, env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=300, check=False)
        recaps = {match[0]: match for match in RECAP.findall(process.stdout)}
        # Only the play host may appear: the app servers are read from the inventory, not contacted.
        assert list(recaps) == ["localhost"], process.stdout + process.stderr
        ok, changed, unreachable, failed = (int(n) for n in recaps["localhost"][1:])
        return process, {"ok": ok, "changed": changed, "unreachable": unreachable, "failed": failed}


@pytest.fixture
def playbook(tmp_path: pathlib.Path, collections_root: pathlib.Path, ansible_playbook: pathlib.Path) -> Playbook:
    return Playbook(tmp_path, collections_root, ansible_playbook)


def test_writes_the_block_then_is_idempotent(playbook: Playbook) -> None:
    process, recap = playbook.run()
    assert recap == {"ok": 2, "changed": 1, "unreachable": 0, "failed": 0}, process.stdout + process.stderr
    assert playbook.dest.read_text() == EXPECTED
    assert oct(playbook.dest.stat().st_mode & 0o7777) == "0o640"

    process, recap = playbook.run()
    assert recap == {"ok": 2, "changed": 0, "unreachable": 0, "failed": 0}, process.stdout + process.stderr
    assert playbook.dest.read_text() == EXPECTED


def test_check_mode_creates_nothing(playbook: Playbook) -> None:
    process, recap = playbook.run("--check")
    # Check mode predicts the change but leaves the target alone.
    assert recap == {"ok": 2, "changed": 1, "unreachable": 0, "failed": 0}, process.stdout + process.stderr
    assert not playbook.dest.exists()


def test_diff_shows_the_drained_server(playbook: Playbook) -> None:
    playbook.run()
    process, recap = playbook.run("--diff", extra_vars='{"upstream_drain": ["app2.example.com"]}')
    assert recap["changed"] == 1, process.stdout + process.stderr
    assert "-    server 192.0.2.12:8000 max_fails=3 fail_timeout=10s;  # app2.example.com\n" in process.stdout
    assert "+    server 192.0.2.12:8000 max_fails=3 fail_timeout=10s down;  # app2.example.com\n" in process.stdout
    assert playbook.dest.read_text() == textwrap.dedent("""\
        # Managed by Ansible (djangoops.fleet.nginx_upstream): do not edit.
        upstream django {
            zone upstream_django 64k;
            server 192.0.2.11:8000 max_fails=3 fail_timeout=10s;  # app1.example.com
            server 192.0.2.12:8000 max_fails=3 fail_timeout=10s down;  # app2.example.com
            server [2001:db8::13]:8000 weight=2 max_fails=3 fail_timeout=10s;  # app3.example.com
            keepalive 32;
        }
        """)


@pytest.mark.parametrize(
    "extra_vars, culprit",
    [
        ('{"upstream_drain": ["app9.example.com"]}', "host 'app9.example.com' is listed in drain"),
        ('{"upstream_groups": ["django_app", "django_ap"]}', "group 'django_ap' is not in the inventory"),
    ],
)
def test_bad_input_fails_naming_the_culprit(playbook: Playbook, extra_vars: str, culprit: str) -> None:
    process, recap = playbook.run(extra_vars=extra_vars)
    assert process.returncode != 0
    assert recap["failed"] == 1
    assert culprit in process.stdout
    assert not playbook.dest.exists()


def test_bad_option_type_fails_before_writing(playbook: Playbook) -> None:
    playbook.playbook.write_text(textwrap.dedent("""
        - hosts: localhost
          gather_facts: false
          tasks:
            - djangoops.fleet.nginx_upstream:
                port: eighty
                dest: "{{ upstream_dest }}"
        """))
    process, recap = playbook.run()
    assert recap["failed"] == 1
    assert "port" in process.stdout and "eighty" in process.stdout
    assert not playbook.dest.exists()
