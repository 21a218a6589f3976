"""A registry that wants a login, as the private ones users pull from do: the lab's registry serves TLS
with a certificate of the lab CA and answers 401 to anyone not logged in, so every pull of the suite
logs in (site_registry_logins). Root, who pulls, holds the credentials, for the registries of the
images each server runs only; a refused login stops the preflight naming the registry and the cause,
and a failed pull names the image, the variable, the registry and the cause, before anything changes."""

from __future__ import annotations

import base64
import json

import pytest

from conftest import run_playbook, server


CONFIG = "/root/.docker/config.json"
PULLER = "djangoops-puller"  # lab_registry_username


def _registry(lab) -> str:
    return f"{lab.all_vars['lab_registry_address']}:5000"


def _state(lab) -> dict[str, str]:
    """What a stopped run must not have changed: root's stored logins, the containers, the env file."""
    return {name: server(name).check_output(
        f"sha256sum {CONFIG}; docker ps -q --no-trunc; sha256sum /etc/djangoops/polls/env 2>/dev/null || true")
        for name in list(lab.app_servers) + list(lab.proxies)}


@pytest.mark.readonly
def test_the_registry_wants_a_login_and_root_holds_it_for_its_registry_only(lab):
    registry = _registry(lab)
    # Not logged in, the registry refuses, over TLS with a certificate the servers trust for it (their seed).
    answer = server("app1").run(f"curl -sS -o /dev/null -w '%{{http_code}}' --cacert /etc/docker/certs.d/{registry}/ca.crt"
                                f" https://{registry}/v2/").stdout
    assert answer == "401", answer
    for name in list(lab.app_servers) + list(lab.proxies):
        host = server(name)
        assert host.file(CONFIG).mode == 0o600 and host.file(CONFIG).user == "root", name
        auths = json.loads(host.check_output(f"cat {CONFIG}"))["auths"]
        assert list(auths) == [registry], (name, list(auths))
        user, _sep, password = base64.b64decode(auths[registry]["auth"]).decode().partition(":")
        assert user == PULLER and password == lab.secret("registry_password"), name
        # The deploy user (the SSH user) holds none: pulls run as root.
        assert not host.file("/home/deploy/.docker/config.json").exists, name


@pytest.mark.changes_lab
def test_a_refused_login_stops_the_preflight_naming_the_registry_and_the_cause(lab):
    registry, wrong = _registry(lab), "not-the-registry-password"
    before = _state(lab)
    run = run_playbook("playbooks/site.yml", "-e", json.dumps(
        {"site_registry_logins": [{"registry": registry, "username": PULLER, "password": wrong}]}))
    said = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0, said[-3000:]
    for name in list(lab.app_servers) + list(lab.proxies):
        assert f"{name}: logging in to {registry} as {PULLER} failed:" in said, said[-3000:]
    assert "401" in said or "unauthorized" in said.lower(), said[-3000:]
    assert wrong not in said
    # Stopped in the preflight: no play of the site began, nothing changed (the logins stored before neither).
    plays = [line for line in run.stdout.splitlines() if line.startswith("PLAY [")]
    assert plays[-1].startswith("PLAY [Preflight"), plays
    assert _state(lab) == before


@pytest.mark.changes_lab
def test_a_failed_pull_names_the_image_the_variable_the_registry_and_the_cause(lab):
    registry = _registry(lab)
    before = _state(lab)
    run = run_playbook("playbooks/deploy.yml", "-e", "lab_app_version=9.9.9")
    said = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0, said[-3000:]
    assert (f"could not pull {registry}/djangoops/polls:9.9.9 (django_app_image) from {registry}:" in said), said[-3000:]
    assert "manifest unknown" in said or "not found" in said, said[-3000:]
    assert f"site_registry_logins logs in to {registry}: check that its user may pull this repository" in said
    assert _state(lab) == before
