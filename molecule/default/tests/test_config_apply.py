"""A configuration Nginx rejects never goes live: the run fails with nginx's own error and the old
configuration keeps serving."""

from __future__ import annotations

import re

import pytest

from conftest import run_playbook


pytestmark = pytest.mark.changes_lab

PROXY_CONFIG = "molecule/default/proxy-config.yml"


def _site_status(client, lab) -> str:
    return client.curl(f"https://{lab.domain}/polls/", "-o", "/dev/null", "-w", "%{http_code}").stdout


@pytest.fixture()
def candidate_in_step(host_files):
    """Afterwards the candidate configuration is the inventory's again (re-rendered only when a check
    stopped before its own good run)."""
    yield
    if "parsecs" in host_files("/etc/djangoops/nginx.candidate/nginx.conf"):
        fixed = run_playbook(PROXY_CONFIG)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr


def test_rejected_config_fails_with_nginx_error_and_old_config_keeps_serving(host_files, client, lab, candidate_in_step):
    live_before = host_files("/etc/djangoops/nginx/nginx.conf")

    # A value Nginx's parser rejects: the template renders it, `nginx -t` must stop it.
    broken = run_playbook(PROXY_CONFIG, "-e", "nginx_proxy_client_max_body_size='25 parsecs'")
    output = broken.stdout + broken.stderr
    assert broken.returncode != 0, output
    assert "nginx -t rejected the new configuration on proxy1" in output
    # nginx's own words, e.g. `[emerg] 1#1: invalid number of arguments in "client_max_body_size"`
    assert re.search(r'\[emerg\].*"client_max_body_size" directive', output), output
    assert "test failed" in output

    assert host_files("/etc/djangoops/nginx/nginx.conf") == live_before
    assert "25 parsecs" in host_files("/etc/djangoops/nginx.candidate/nginx.conf")
    assert _site_status(client, lab) == "200"

    # The next good run puts the candidate back in step and changes nothing live.
    fixed = run_playbook(PROXY_CONFIG)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert host_files("/etc/djangoops/nginx/nginx.conf") == live_before
    assert _site_status(client, lab) == "200"
