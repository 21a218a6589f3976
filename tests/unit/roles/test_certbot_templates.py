# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The certbot role's renewal job as the role renders it: the script cron or the timer runs, and the
systemd service and timer (the lab has no systemd, so they are checked here, by systemd's own
tools where the machine has them).

One ``ansible-playbook`` run on localhost loads the role's defaults and vars from this checkout and
renders the three templates per case, as tasks/renew.yml does on the issuing proxy.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
import subprocess
import sys
import typing as t

import pytest

CHECKOUT = pathlib.Path(__file__).resolve().parents[3]
ROLE_DIR = CHECKOUT / "roles" / "certbot"
TEMPLATES = ("djangoops-certbot-renew.sh", "djangoops-certbot-renew.service", "djangoops-certbot-renew.timer")
CASES: dict[str, dict[str, t.Any]] = {
    "default": {"certbot_domains": ["www.example.com", "example.com"]},
    "private_ca": {
        "certbot_domains": ["www.example.com"], "certbot_acme_ca_bundle": "/controller/ca.pem",
        "certbot_renew_hour": "0,12", "certbot_renew_minute": "5", "certbot_config_dir": "/srv/letsencrypt",
    },
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, isolated_ansible_env, ansible_playbook: pathlib.Path) -> dict[str, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("certbot-templates")
    tasks = [
        # The role's defaults derive from the site settings, its dependency.
        {"name": "Load the site settings", "ansible.builtin.include_vars": {"file": str(ROLE_DIR.parent / "site" / "defaults" / "main.yml")}},
        {"name": "Load the role's defaults", "ansible.builtin.include_vars": {"file": str(ROLE_DIR / "defaults" / "main.yml")}},
        {"name": "Load the role's vars", "ansible.builtin.include_vars": {"file": str(ROLE_DIR / "vars" / "main.yml")}},
    ]
    # Include parameters outrank include_vars (task vars would not), so each case's settings win.
    render = tmp / "render.yml"
    render.write_text(json.dumps([{
        "name": "Render {{ item }}",
        "ansible.builtin.template": {"src": str(ROLE_DIR / "templates") + "/{{ item }}.j2",
                                     "dest": "{{ case_dir }}/{{ item }}", "mode": "0644"},
        "loop": list(TEMPLATES),
    }]))
    for case, variables in CASES.items():
        (tmp / case).mkdir()
        tasks.append({"name": f"Render case {case}", "ansible.builtin.include_tasks": {"file": str(render)},
                      "vars": {**variables, "case_dir": str(tmp / case)}})
    playbook = tmp / "playbook.yml"
    playbook.write_text(json.dumps([{
        "name": "Render the certbot renewal templates", "hosts": "localhost", "connection": "local",
        "gather_facts": False, "vars": {"ansible_python_interpreter": sys.executable}, "tasks": tasks,
    }]))
    process = subprocess.run([str(ansible_playbook), "-i", "localhost,", str(playbook)], env=isolated_ansible_env(tmp),
                             cwd=tmp, capture_output=True, text=True, timeout=300, check=False)
    assert process.returncode == 0, process.stdout + process.stderr
    return {case: {name: (tmp / case / name).read_text() for name in TEMPLATES} for case in CASES}


def _unit(text: str) -> dict[str, list[str]]:
    """key -> values of a systemd unit file (sections ignored: keys are unique in these units)."""
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
    return values


@pytest.mark.parametrize("case", CASES)
def test_the_timer_runs_twice_a_day_spread_and_catches_up(rendered, case: str) -> None:
    timer = _unit(rendered[case]["djangoops-certbot-renew.timer"])
    hour, minute = ("3,15", "17") if case == "default" else ("0,12", "5")
    assert timer["OnCalendar"] == [f"*-*-* {hour}:{minute}:00"]
    assert timer["Persistent"] == ["true"]
    assert timer["RandomizedDelaySec"] == ["1h"]
    assert timer["WantedBy"] == ["timers.target"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
@pytest.mark.parametrize("case", CASES)
def test_systemd_accepts_the_calendar_expression(rendered, case: str) -> None:
    (expression,) = _unit(rendered[case]["djangoops-certbot-renew.timer"])["OnCalendar"]
    checked = subprocess.run(["systemd-analyze", "calendar", expression], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "Next elapse:" in checked.stdout


def test_the_service_runs_the_renewal_script_once_docker_runs(rendered) -> None:
    service = _unit(rendered["default"]["djangoops-certbot-renew.service"])
    assert service["Type"] == ["oneshot"]
    # The timer spreads the start, so Certbot's own random sleep is skipped.
    assert service["ExecStart"] == ["/usr/local/sbin/djangoops-certbot-renew --no-random-sleep-on-renew"]
    assert service["Requires"] == ["docker.service"]
    assert "docker.service" in service["After"][0]


@pytest.mark.parametrize("case", CASES)
def test_the_script_is_valid_sh(rendered, case: str, tmp_path: pathlib.Path) -> None:
    script = tmp_path / "renew.sh"
    script.write_text(rendered[case]["djangoops-certbot-renew.sh"])
    checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    if shutil.which("shellcheck"):
        linted = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True, check=False)
        assert linted.returncode == 0, linted.stdout


def test_the_script_renews_in_webroot_mode_then_reloads_and_checks_only_on_change(rendered) -> None:
    script = rendered["default"]["djangoops-certbot-renew.sh"]
    assert re.search(r"renew --non-interactive --webroot -w /var/www/html \"\$@\"$", script, re.M), script
    changed = script[script.index('if [ "$before" != "$after" ]; then'):]
    steps = [line.strip() for line in changed.splitlines()[1:] if line.strip() and line.strip() != "fi"]
    assert steps[0] == "docker exec nginx nginx -t -q -c /etc/nginx/nginx.conf"
    assert steps[1] == "docker exec nginx nginx -c /etc/nginx/nginx.conf -s reload"
    assert steps[3] == (
        "python3 /usr/local/lib/djangoops-served-certificate.py --address=127.0.0.1 --port=443"
        " --server-name=www.example.com --certificate=/etc/letsencrypt/live/www.example.com/fullchain.pem"
    )
    assert "REQUESTS_CA_BUNDLE" not in script


def test_the_script_trusts_the_private_ca_and_uses_the_config_dir(rendered) -> None:
    script = rendered["private_ca"]["djangoops-certbot-renew.sh"]
    assert "-v /etc/djangoops/certbot/acme-ca.pem:/etc/djangoops-acme-ca.pem:ro -e REQUESTS_CA_BUNDLE=/etc/djangoops-acme-ca.pem" in script
    assert "-v /srv/letsencrypt:/etc/letsencrypt" in script
    assert "--certificate=/srv/letsencrypt/live/www.example.com/fullchain.pem" in script


def test_two_runs_at_once_take_turns(rendered, tmp_path: pathlib.Path) -> None:
    """The timer and playbooks/renew.yml (or a run by hand) can start the script together: the second
    waits for the first's container to end instead of failing on its name. A `docker` on PATH stands in
    for the engine, recording when each run's container starts and ends."""
    script = tmp_path / "renew.sh"
    script.write_text(rendered["default"]["djangoops-certbot-renew.sh"].replace("/var/lock/", f"{tmp_path}/"))
    script.chmod(0o755)
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text(f'#!/bin/sh\necho "start $$" >> {tmp_path}/runs; sleep 0.5; echo "end $$" >> {tmp_path}/runs\n')
    (fake / "docker").chmod(0o755)
    env = {"PATH": f"{fake}:/usr/bin:/bin"}
    runs = [subprocess.Popen([str(script)], env=env) for _run in range(2)]
    assert [run.wait(timeout=20) for run in runs] == [0, 0]
    events = [line.split()[0] for line in (tmp_path / "runs").read_text().splitlines()]
    assert events == ["start", "end", "start", "end"], events
