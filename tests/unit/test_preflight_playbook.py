# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""playbooks/preflight.yml, run for real on local connections: values each role accepts alone but
that disagree across roles stop the run in its consistency checks, naming the variables and the fix.
Every case fails before the Docker engine is asked, so no engine is needed."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import typing as t

import pytest

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]

INVENTORY = """
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  children:
    django_app:
      hosts:
        app1.example.com: {private_address: 192.0.2.11}
        app2.example.com: {private_address: 192.0.2.12}
    nginx_proxy:
      hosts:
        proxy1.example.com: {private_address: 192.0.2.21}
"""

# Every role's required input; the site's names once, as users write them.
GOOD = {
    "site_server_names": ["www.example.com"],
    "django_app_image": "registry.example.com/polls:1.0.0",
    "django_app_secret_key": "q7Vt2mKx9LwR4pZc8NbY3hJd6FsA1gUe5TiO0kWn-rXy_CvBlMa",
    "django_app_database_user": "sammy",
    "django_app_database_password": "db-password",
    "django_app_database_host": "db.example.com",
    "django_app_static_access_key_id": "key-id",
    "django_app_static_secret_key": "s3-secret",
    "django_app_static_bucket_name": "polls-static",
    "django_app_static_endpoint_url": "https://nyc3.digitaloceanspaces.com",
    "django_app_admin_password": "admin-password-1",
}

CASES = {
    "firewall-misses-the-app-port": (
        {"django_app_published_port": 8081}, "Check that the firewall covers the app port and the proxies can reach it",
        "the app is published on port 8081 (django_app_published_port) but the firewall closes only [8000, 8001]"),
    "firewall-misses-the-standby-port": (
        {"django_app_standby_port": 8090}, "Check that the firewall covers the app port and the proxies can reach it",
        "the standby container is published on port 8090 (django_app_standby_port) but the firewall closes only [8000, 8001]"),
    "app-published-where-no-proxy-connects": (
        {"django_app_published_address": "192.0.2.99"}, "Check that the firewall covers the app port and the proxies can reach it",
        "the app is published on 192.0.2.99 (django_app_published_address) but the proxies connect to 192.0.2.11"),
    "certificate-nginx-never-reads": (
        {"certbot_cert_name": "other.example.com"}, "Check that Nginx, Certbot and the app servers agree",
        "Nginx serves the certificate www.example.com (nginx_proxy_certificate_name) but Certbot obtains other.example.com"),
    "served-name-without-certificate": (
        {"nginx_proxy_server_names": ["www.example.com", "example.com"]}, "Check that Nginx, Certbot and the app servers agree",
        "does not cover the served names example.com"),
    "proxies-proxy-to-themselves": (
        {"nginx_proxy_upstream_groups": ["nginx_proxy"]}, "Check that Nginx, Certbot and the app servers agree",
        "holds hosts that are not app servers (group django_app): proxy1.example.com"),
    "upstream-port-not-published": (
        {"nginx_proxy_upstream_port": 9000}, "Check that Nginx, Certbot and the app servers agree",
        "the proxies send to port 9000 (nginx_proxy_upstream_port) but the app servers publish 8000"),
}

FAILED_TASK = re.compile(r"^TASK \[([^\]\n]*)\][^\n]*\n(?:(?!^TASK \[).)*?^fatal: ", re.MULTILINE | re.DOTALL)


def _run(tmp_path: pathlib.Path, env: dict[str, str], ansible_playbook: pathlib.Path, variables: dict) -> subprocess.CompletedProcess:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(INVENTORY)
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps({**GOOD, **variables}))
    return subprocess.run(
        [str(ansible_playbook), "-i", str(inventory), str(CHECKOUT / "playbooks" / "preflight.yml"), "-e", "@%s" % extra],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.mark.parametrize("overrides, task, message", list(CASES.values()), ids=list(CASES))
def test_roles_that_disagree_stop_the_preflight(tmp_path: pathlib.Path, isolated_ansible_env: t.Callable,
                                                ansible_playbook: pathlib.Path, overrides: dict, task: str, message: str) -> None:
    run = _run(tmp_path, isolated_ansible_env(tmp_path), ansible_playbook, overrides)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert FAILED_TASK.findall(run.stdout) == [task], output
    assert message in " ".join(output.split()), output
    assert "Ask the Docker engine" not in run.stdout, output


def test_agreeing_roles_pass_the_consistency_checks(tmp_path: pathlib.Path, isolated_ansible_env: t.Callable,
                                                    ansible_playbook: pathlib.Path) -> None:
    run = _run(tmp_path, isolated_ansible_env(tmp_path), ansible_playbook, {})
    assert "TASK [Check that Nginx, Certbot and the app servers agree]" in run.stdout, run.stdout + run.stderr
    # Every consistency check passed: the run went on to the Docker engines, whose check may fail here
    # (no engine, or no requests library, on the machine running the tests) and says nothing of the settings.
    assert "TASK [Ask the Docker engine for its version]" in run.stdout, run.stdout + run.stderr
    assert set(FAILED_TASK.findall(run.stdout)) <= {"Check that sudo works and the Docker engine answers"}, run.stdout + run.stderr
