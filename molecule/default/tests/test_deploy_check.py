"""The release checked before it goes live: Django's deploy checks run on the new image with the real
env file. A release that reads the env file's DEBUG=False as a true string (as the seed tutorial's
app does; tests/lab/images/polls-seed-debug) stops before any migration or app container change,
the finding said in plain words; accepted by name, the same release deploys."""

from __future__ import annotations

import json

import pytest
import testinfra

from conftest import restore_release, run_playbook


pytestmark = pytest.mark.changes_lab

SEED_DEBUG = "1.0.1"  # tests/lab/images/polls-seed-debug
# What DEBUG read as a string turns on: DEBUG itself, and the cookie settings that follow it.
DEBUG_FINDINGS = ["security.W018", "security.W012", "security.W016"]


def _containers(lab) -> dict[str, str]:
    """The app container of each app server: its ID and image."""
    return {name: testinfra.get_host(f"docker://djangoops-lab-{name}").check_output(
        "docker inspect --format '{{.Id}} {{.Config.Image}}' polls") for name in lab.app_servers}


def _deploy(version: str, *args: str):
    return run_playbook("playbooks/deploy.yml", "-e", f"lab_app_version={version}", *args)


@pytest.fixture()
def back_on_the_lab_release(lab):
    """Afterwards every app server runs the lab's release again."""
    yield
    restore_release()


def test_a_release_with_debug_on_stops_before_going_live_and_deploys_once_accepted(client, lab, back_on_the_lab_release):
    before = _containers(lab)

    stopped = _deploy(SEED_DEBUG)
    output = " ".join((stopped.stdout + stopped.stderr).split())
    assert stopped.returncode != 0, output
    assert "Stop the release on what Django's deploy checks found" in output, output
    assert "security.W018 (warning): DEBUG is on in this release" in output, output
    assert "a settings.py that takes os.getenv('DEBUG') as it is reads the string 'False' as true" in output
    assert "nothing of it went live" in output and "django_app_check_deploy_ignore" in output
    # Stopped before the migrations and before any app container changed; the site still serves.
    assert "Migrate, check the admin user" not in stopped.stdout
    assert _containers(lab) == before
    assert client.curl(f"https://{lab.domain}/polls/", "-o", "/dev/null", "-w", "%{http_code}").stdout == "200"

    accepted = _deploy(SEED_DEBUG, "-e", json.dumps({"django_app_check_deploy_ignore": DEBUG_FINDINGS}))
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "[accepted in django_app_check_deploy_ignore]" in accepted.stdout
    assert all(image.endswith(f"/djangoops/polls:{SEED_DEBUG}") for image in (
        entry.split()[1] for entry in _containers(lab).values()))
    # Live, DEBUG shows: an unknown page answers with Django's technical 404 page.
    page = client.curl(f"https://{lab.domain}/no-such-page/").stdout
    assert "Using the URLconf defined in" in page, page[:500]
