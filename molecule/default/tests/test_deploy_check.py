"""Apps of other eras and shapes than the example's, released as users' own would be: Django's deploy
checks run on the new image with the real env file before it goes live, and the release steps work
whatever Django, Python and layout the image has.

- The seed tutorial's app (tests/lab/images/polls-tutorial: Django 3.1, psycopg2, Gunicorn 20, Python
  3.9) runs as root (no USER line), which its user accepts (django_app_allow_root, with a warning), and
  reads the env file's DEBUG=False as a true string: it stops before any migration or app container
  change, the finding said in plain words; accepted by name, the same release deploys with nothing but
  its image and those two settings, and a rollback returns to the lab's release.
- A Django 4.2 app on psycopg2 with `python3` alone and manage.py in src/ (tests/lab/images/
  polls-django42) stops at its first step with what to set; set, it deploys and rolls back."""

from __future__ import annotations

import json
import re

import pytest
import testinfra

from conftest import restore_release, run_playbook


pytestmark = pytest.mark.changes_lab

TUTORIAL = "1.0.1"  # tests/lab/images/polls-tutorial
DJANGO42 = "1.0.2"  # tests/lab/images/polls-django42
# Apps of those eras have no health endpoint: their health check asks a page, any body.
PAGE_HEALTH = {"django_app_healthcheck_path": "/polls/", "django_app_healthcheck_body": ""}
# The tutorial's image has no USER line: its containers run as root, which a release refuses unless accepted.
# (The refusal itself is not shown here: it would cost a run of its own; test_hardening.py checks the setting.)
# The tutorial reads its secrets from its environment, so its user leaves them there (the lab's inventory gives
# the example app files, django_app_secret_files): the switch off and, by the rollback, on again.
TUTORIAL_SETTINGS = {"django_app_allow_root": True, "django_app_secret_files": False}
ROOT_WARNING = "run as root, accepted by django_app_allow_root"
# What DEBUG read as a string turns on: DEBUG itself, and the cookie settings that follow it.
DEBUG_FINDINGS = ["security.W018", "security.W012", "security.W016"]


def _containers(lab) -> dict[str, str]:
    """The app container of each app server: its ID and image."""
    return {name: testinfra.get_host(f"docker://djangoops-lab-{name}").check_output(
        "docker inspect --format '{{.Id}} {{.Config.Image}}' polls") for name in lab.app_servers}


def _images(lab) -> set[str]:
    return {entry.split()[1].rsplit("/", 2)[-1] for entry in _containers(lab).values()}


def _deploy(version: str, *args: str):
    return run_playbook("playbooks/deploy.yml", "-e", f"lab_app_version={version}", *args)


def _flat(run) -> str:
    return " ".join((run.stdout + run.stderr).split())


def _served_through_every_proxy(client, lab) -> set[tuple[str, str]]:
    """(status, X-App-Version) of /polls/ through each proxy."""
    answers = set()
    for proxy in lab.proxy_addresses:
        head = client.run(
            f"curl -sS -o /dev/null -D - --max-time 10 --cacert /lab/pki/pebble-production-root.pem"
            f" --resolve {lab.domain}:443:{proxy} https://{lab.domain}/polls/").stdout
        status = re.search(r"^HTTP/\S+ (\d+)", head, re.M)
        version = re.search(r"(?im)^x-app-version:\s*(\S+)", head)
        answers.add((status.group(1) if status else head, version.group(1) if version else ""))
    return answers


def _roll_back_to_the_lab_release(lab) -> None:
    run = run_playbook("playbooks/rollback.yml")
    assert run.returncode == 0, run.stdout + run.stderr
    release = lab.all_vars["lab_app_version"]
    assert f"Rolling back to {lab.all_vars['lab_registry_address']}:5000/djangoops/polls:{release}" in run.stdout
    assert _images(lab) == {f"polls:{release}"}


@pytest.fixture()
def back_on_the_lab_release(lab):
    """Afterwards every app server runs the lab's release again (the checks end with a rollback; a
    failed one leaves this to do)."""
    yield
    if _images(lab) != {f"polls:{lab.all_vars['lab_app_version']}"}:
        restore_release()


def test_the_tutorials_app_stops_on_debug_then_deploys_when_accepted_and_rolls_back(client, lab, back_on_the_lab_release):
    before = _containers(lab)

    stopped = _deploy(TUTORIAL, "-e", json.dumps(TUTORIAL_SETTINGS))
    output = _flat(stopped)
    assert stopped.returncode != 0, output
    assert ROOT_WARNING in output, output
    assert "Stop the release on what Django's deploy checks found" in output, output
    assert "security.W018 (warning): DEBUG is on in this release" in output, output
    assert "a settings.py that takes os.getenv('DEBUG') as it is reads the string 'False' as true" in output
    assert "nothing of it went live" in output and "django_app_check_deploy_ignore" in output
    # Stopped before the migrations and before any app container changed; the site still serves.
    assert "Migrate, check the admin user" not in stopped.stdout
    assert _containers(lab) == before
    assert client.curl(f"https://{lab.domain}/polls/", "-o", "/dev/null", "-w", "%{http_code}").stdout == "200"

    # Only the image and the accepted findings differ from the lab's inventory.
    accepted = _deploy(TUTORIAL, "-e", json.dumps({"django_app_check_deploy_ignore": DEBUG_FINDINGS, **TUTORIAL_SETTINGS, **PAGE_HEALTH}))
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "[accepted in django_app_check_deploy_ignore]" in accepted.stdout
    assert _images(lab) == {f"polls:{TUTORIAL}"}
    assert _served_through_every_proxy(client, lab) == {("200", TUTORIAL)}
    # Live, DEBUG shows: an unknown page answers with Django's technical 404 page.
    page = client.curl(f"https://{lab.domain}/no-such-page/").stdout
    assert "Using the URLconf defined in" in page, page[:500]

    _roll_back_to_the_lab_release(lab)
    assert _served_through_every_proxy(client, lab) == {("200", lab.all_vars["lab_app_version"])}


def test_an_app_with_python3_alone_and_manage_py_elsewhere_says_what_to_set_then_deploys(client, lab, back_on_the_lab_release):
    before = _containers(lab)

    stopped = _deploy(DJANGO42)
    output = _flat(stopped)
    assert stopped.returncode != 0, output
    # The first release step (the deploy checks) names itself, the image and what to set; nothing went live.
    assert "the release step 'deploy-check' failed (its container did not start)" in output, output
    assert f"djangoops/polls:{DJANGO42}" in output
    assert "The image cannot run python: set django_app_python (python3, say)" in output, output
    assert "Unknown error" not in output
    assert _containers(lab) == before

    shape = {"django_app_python": "python3", "django_app_manage_command": ["python3", "src/manage.py"], **PAGE_HEALTH}
    shaped = _deploy(DJANGO42, "-e", json.dumps(shape))
    assert shaped.returncode == 0, shaped.stdout + shaped.stderr
    assert _images(lab) == {f"polls:{DJANGO42}"}
    assert _served_through_every_proxy(client, lab) == {("200", DJANGO42)}
    # The container's health check runs the image's python3.
    health = testinfra.get_host("docker://djangoops-lab-app1").check_output(
        "docker inspect --format '{{json .Config.Healthcheck.Test}} {{.State.Health.Status}}' polls")
    assert health.startswith('["CMD","python3","-c"'), health

    _roll_back_to_the_lab_release(lab)
