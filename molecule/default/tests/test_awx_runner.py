"""The playbooks of the AWX job templates (examples/awx/job_templates/) run the way AWX runs them:
through ansible-runner, with no terminal, and the secrets injected as extra vars by credentials
rather than read from the inventory. On the converged lab each run changes nothing (rollback.yml
changes the release by design: tests/test_releases.py runs it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import PROJECT


@pytest.fixture()
def runner_dir(tmp_path, lab):
    """A private data directory as AWX lays it out: project, inventory, env/extravars, env/envvars."""
    (tmp_path / "project").symlink_to(PROJECT)
    (tmp_path / "env").mkdir()
    # What the custom credential types inject (examples/awx/credential_types/).
    extravars = {
        "django_app_secret_key": lab.secret("django_secret_key"),
        "django_app_database_password": lab.secret("database_password"),
        "django_app_static_secret_key": lab.secret("s3_secret_key"),
        "django_app_admin_password": lab.secret("admin_password"),
    }
    (tmp_path / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    (tmp_path / "env" / "envvars").write_text(yaml.safe_dump({"DJANGOOPS_LAB_DIR": str(lab.state_dir)}))
    return tmp_path


@pytest.mark.parametrize("playbook", ["site.yml", "deploy.yml", "renew.yml"])
def test_playbook_runs_through_ansible_runner_with_injected_credentials(runner_dir, lab, playbook):
    runner = shutil.which("ansible-runner")
    assert runner, "ansible-runner is a pinned requirement"
    run = subprocess.run(
        [runner, "run", str(runner_dir), "-p", f"playbooks/{playbook}", "--inventory", str(PROJECT / "inventories" / "lab")],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600, check=False,
        env={key: value for key, value in os.environ.items() if key != "ANSIBLE_CONFIG"},
    )
    artifacts = next((runner_dir / "artifacts").iterdir())
    stdout = re.sub(r"\x1b\[[0-9;]*m", "", (artifacts / "stdout").read_text())  # ansible-runner keeps colours
    assert run.returncode == 0, stdout[-5000:]
    assert (artifacts / "status").read_text() == "successful"
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", stdout, re.M))
    assert recap and set(recap.values()) == {"0"}, recap

    # Neither the job output nor the event stream AWX stores may hold a secret.
    events = [path.read_text() for path in (artifacts / "job_events").glob("*.json")]
    assert any(json.loads(event).get("event") == "playbook_on_stats" for event in events)
    events = "\n".join(events)
    for name in ("django_secret_key", "database_password", "s3_secret_key", "admin_password"):
        assert lab.secret(name) not in stdout, name
        assert lab.secret(name) not in events, name
