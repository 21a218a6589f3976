"""The playbooks of the AWX job templates (examples/awx/job_templates/) run the way AWX runs them:
through ansible-runner, with no terminal, and the secrets injected as extra vars by credentials
rather than read from the inventory. On the converged lab each run changes nothing; the rollback job
runs after a deploy job of the next release and returns the lab to the release it started with."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from conftest import PROJECT, restore_release, server, unapply_next_release_migration


pytestmark = pytest.mark.changes_lab


SECRETS = ("django_secret_key", "database_password", "s3_secret_key", "admin_password", "registry_password", "become_password")
# The django_app task that replaces an app container (roles/django_app/tasks/rollout.yml).
CONTAINER_TASK = "Ensure the app container runs the release image and settings"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _injected_by(credential_type: str, inputs: dict[str, str]):
    """What a credential of this type (examples/awx/credential_types/) injects as extra vars: its
    injector rendered as AWX renders it, every string of a list or dict too (AWX 21.10 and later)."""
    injector = yaml.safe_load((PROJECT / "examples" / "awx" / "credential_types" / credential_type).read_text())
    environment = ImmutableSandboxedEnvironment()

    def render(value):
        if isinstance(value, dict):
            return {key: render(item) for key, item in value.items()}
        if isinstance(value, list):
            return [render(item) for item in value]
        return environment.from_string(value).render(inputs)

    return render(injector["injectors"]["extra_vars"])


@pytest.fixture()
def runner_dirs(tmp_path, lab):
    """Private data directories as AWX lays them out (project, inventory, env/extravars, env/envvars),
    one per job: ``runner_dirs(extra_vars)`` makes the next one."""
    made = []

    def make(extra_vars: dict | None = None):
        private = tmp_path / f"job{len(made)}"
        (private / "env").mkdir(parents=True)
        (private / "project").symlink_to(PROJECT)
        # What the custom credential types inject (examples/awx/credential_types/), plus the job's own.
        extravars = {
            "django_app_secret_key": lab.secret("django_secret_key"),
            "django_app_database_password": lab.secret("database_password"),
            "django_app_static_secret_key": lab.secret("s3_secret_key"),
            "django_app_admin_password": lab.secret("admin_password"),
            # The registry login as its credential type injects it: a list, replacing the inventory's.
            **_injected_by("container_registry.yml", {
                "registry": f"{lab.all_vars['lab_registry_address']}:5000",
                "username": lab.all_vars["lab_registry_username"], "password": lab.secret("registry_password")}),
            **(extra_vars or {}),
        }
        (private / "env" / "extravars").write_text(yaml.safe_dump(extravars))
        (private / "env" / "envvars").write_text(yaml.safe_dump({"DJANGOOPS_LAB_DIR": str(lab.state_dir)}))
        made.append(private)
        return private

    return make


def _run_job(private, lab, playbook: str) -> dict[str, str]:
    """Run a playbook with ansible-runner as AWX does; return the recap's changed count per host."""
    runner = shutil.which("ansible-runner")
    assert runner, "ansible-runner is a pinned requirement"
    run = subprocess.run(
        [runner, "run", str(private), "-p", f"playbooks/{playbook}", "--inventory", str(PROJECT / "inventories" / "lab")],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600, check=False,
        env={key: value for key, value in os.environ.items() if key != "ANSIBLE_CONFIG"},
    )
    artifacts = next((private / "artifacts").iterdir())
    stdout = re.sub(r"\x1b\[[0-9;]*m", "", (artifacts / "stdout").read_text())  # ansible-runner keeps colours
    assert run.returncode == 0, stdout[-5000:]
    assert (artifacts / "status").read_text() == "successful"

    # Neither the job output nor the event stream AWX stores may hold a secret.
    events = [path.read_text() for path in (artifacts / "job_events").glob("*.json")]
    assert any(json.loads(event).get("event") == "playbook_on_stats" for event in events)
    events = "\n".join(events)
    for name in SECRETS:
        assert lab.secret(name) not in stdout, name
        assert lab.secret(name) not in events, name
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", stdout, re.M))
    assert recap, stdout[-3000:]
    return recap


# deploy.yml runs through ansible-runner below, deploying a new release before the rollback job.
@pytest.mark.parametrize("playbook", ["site.yml", "renew.yml"])
def test_playbook_runs_through_ansible_runner_with_injected_credentials(runner_dirs, lab, playbook):
    recap = _run_job(runner_dirs(), lab, playbook)
    assert set(recap.values()) == {"0"}, recap


def _hosts_changed_by(private, task: str) -> set[str]:
    """The hosts on which the task named exactly ``task`` reported a change, from the job's event
    stream (what AWX stores and shows per host). The task runs with no_log, which leaves its result
    in the event censored: the event's own output line says changed or ok."""
    artifacts = next((private / "artifacts").iterdir())
    changed = set()
    for path in (artifacts / "job_events").glob("*.json"):
        event = json.loads(path.read_text())
        data = event.get("event_data", {})
        if event.get("event") != "runner_on_ok" or data.get("task") != task:
            continue
        stdout = ANSI_ESCAPE.sub("", event.get("stdout", "")).lstrip()  # coloured unless ANSIBLE_FORCE_COLOR=0
        if data.get("res", {}).get("changed") is True or stdout.startswith("changed: ["):
            changed.add(data["host"])
    return changed


def _running_images(lab) -> set[str]:
    return {server(name).check_output("docker inspect --format '{{.Config.Image}}' polls") for name in lab.app_servers}


@pytest.fixture()
def inventory_release_after(lab):
    """Afterwards every app server runs the inventory's release again (deployed only when a job
    stopped elsewhere), and the database is as the converge left it."""
    yield
    if {image.rsplit(":", 1)[1] for image in _running_images(lab)} != {lab.all_vars["lab_app_version"]}:
        restore_release()
    unapply_next_release_migration(lab)


def test_rollback_job_returns_to_the_release_before_the_deploy_job(runner_dirs, lab, inventory_release_after):
    """The rollback job template after a deploy job that set another release (a survey answer in AWX)."""
    start = lab.all_vars["lab_app_version"]
    before = _running_images(lab)
    assert len(before) == 1 and before.pop().endswith(f":{start}")

    deploy_job = runner_dirs({"lab_app_version": "1.1.0"})
    deployed = _run_job(deploy_job, lab, "deploy.yml")
    # Every app server of the inventory, and only they, had its container replaced.
    assert _hosts_changed_by(deploy_job, CONTAINER_TASK) == set(lab.app_servers), deployed
    assert {image.rsplit(":", 1)[1] for image in _running_images(lab)} == {"1.1.0"}

    rollback_job = runner_dirs()
    rolled_back = _run_job(rollback_job, lab, "rollback.yml")
    assert _hosts_changed_by(rollback_job, CONTAINER_TASK) == set(lab.app_servers), rolled_back
    assert {image.rsplit(":", 1)[1] for image in _running_images(lab)} == {start}
    # Rollbacks leave migrations applied: the fixture takes the next release's migration back.
