# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The certbot role's renewal job as the role renders it: the command cron or the timer runs, and the
systemd service and timer (checked here by systemd's own tools where the machine has them; the lab runs
them for real).

One ``ansible-playbook`` run on localhost loads the role's defaults and vars from this checkout and
renders the three templates per case, as tasks/renew.yml does on every proxy.
"""

from __future__ import annotations

import json
import pathlib
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
    "own_schedule": {
        "certbot_domains": ["www.example.com"], "certbot_renew_hour": "0,12", "certbot_renew_minute": "5",
        "certbot_renew_on_failure": ["notify-ops@%n.service", "pager.service"],
    },
    # The lab's: every 20 seconds, no random delay.
    "lab": {
        "certbot_domains": ["www.example.com"], "certbot_renew_on_calendar": "*:*:0/20",
        "certbot_renew_randomized_delay": 0,
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
def test_the_timer_runs_on_schedule_spread_and_catches_up(rendered, case: str) -> None:
    timer = _unit(rendered[case]["djangoops-certbot-renew.timer"])
    calendar = {"default": "*-*-* 3,15:17:00", "own_schedule": "*-*-* 0,12:5:00", "lab": "*:*:0/20"}[case]
    assert timer["OnCalendar"] == [calendar]
    assert timer["Persistent"] == ["true"]
    assert timer["RandomizedDelaySec"] == ["0" if case == "lab" else "3600"]
    assert timer["AccuracySec"] == ["1s"]
    assert timer["WantedBy"] == ["timers.target"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
@pytest.mark.parametrize("case", CASES)
def test_systemd_accepts_the_calendar_expression(rendered, case: str) -> None:
    (expression,) = _unit(rendered[case]["djangoops-certbot-renew.timer"])["OnCalendar"]
    checked = subprocess.run(["systemd-analyze", "calendar", expression], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "Next elapse:" in checked.stdout


def test_the_service_runs_the_job_once_docker_runs_and_starts_the_failure_units(rendered) -> None:
    service = _unit(rendered["default"]["djangoops-certbot-renew.service"])
    assert service["Type"] == ["oneshot"]
    assert service["ExecStart"] == ["/usr/local/sbin/djangoops-certbot-renew"]
    assert service["Requires"] == ["docker.service"]
    assert "docker.service" in service["After"][0]
    assert "OnFailure" not in service
    assert _unit(rendered["own_schedule"]["djangoops-certbot-renew.service"])["OnFailure"] == [
        "notify-ops@%n.service pager.service"]


@pytest.mark.parametrize("case", CASES)
def test_the_command_is_valid_sh_and_runs_the_job_with_its_settings(rendered, case: str, tmp_path: pathlib.Path) -> None:
    script = tmp_path / "renew.sh"
    script.write_text(rendered[case]["djangoops-certbot-renew.sh"])
    checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    if shutil.which("shellcheck"):
        linted = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True, check=False)
        assert linted.returncode == 0, linted.stdout
    assert script.read_text().splitlines()[-1] == (
        'exec /usr/bin/python3 /usr/local/lib/djangoops/djangoops_certbot_renew.py'
        ' --config /etc/djangoops/certbot-renew.json "$@"')
