"""Bad input stops the site playbook in its preflight, naming the culprit, before any host changes."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from conftest import run_playbook, server


pytestmark = pytest.mark.readonly


def _site(*extra_args: str) -> subprocess.CompletedProcess:
    return run_playbook("playbooks/site.yml", *extra_args)


# What a run could change on each server: its config files and firewall rules, and its containers.
STATE = {
    "app": "sha256sum /etc/djangoops/polls/env /etc/ufw/after.rules; iptables -S DOCKER-USER; docker ps -q --no-trunc",
    "proxy": "sha256sum /etc/djangoops/nginx/*.conf /etc/djangoops/nginx/conf.d/*; docker ps -q --no-trunc",
}


def _lab_state(lab) -> dict[str, str]:
    names = [(name, "app") for name in lab.app_servers] + [(name, "proxy") for name in lab.proxies]
    return {name: server(name).check_output(STATE[kind]) for name, kind in names}


@pytest.mark.parametrize(
    "extra_vars, culprit",
    [
        ({"django_app_secret_key": "too-short"}, "django_app_secret_key"),
        ({"nginx_proxy_server_names": ["not a name!"]}, "nginx_proxy_server_names"),
        ({"certbot_renew_before": 2}, "certbot_renew_before"),
        ({"ufw_docker_ports": [0]}, "ufw_docker_ports"),
        # A site setting stops every host in the first play, before any host is contacted.
        ({"site_app_port": 70000}, "site_app_port"),
        # Values that would change the structure of the file they land in, or open the site up.
        ({"nginx_proxy_client_max_body_size": "25m; autoindex on"}, "nginx_proxy_client_max_body_size: '25m; autoindex on'"),
        ({"ufw_docker_extra_allowed_sources": ["0.0.0.0/0"]}, "ufw_docker_extra_allowed_sources[0]: '0.0.0.0/0'"),
        ({"django_app_extra_env": {"DEBUG": "True"}}, "django_app_extra_env sets DEBUG"),
        ({"django_app_environment": "prod"}, "django_app_environment"),
        ({"certbot_renew_minute": 60}, "certbot_renew_minute: 60"),
    ],
    ids=["short-secret-key", "bad-server-name", "renew-before-out-of-range", "port-zero", "site-port-out-of-range",
         "nginx-directive-in-a-size", "allow-all-source", "extra-env-overrides-debug", "environment-prod", "renew-minute-60"],
)
def test_bad_input_fails_in_preflight_without_changing_any_host(lab, extra_vars, culprit):
    before = _lab_state(lab)
    run = _site("-e", json.dumps(extra_vars))
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert culprit in output
    plays = re.findall(r"^PLAY \[(.+?)\]", run.stdout, re.M)
    # Stopped in the preflight: no role play started.
    assert plays[-1] in ("Preflight | site settings and groups", "Preflight | role settings and Docker engines"), plays
    recap = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", run.stdout, re.M)
    assert recap and all(changed == "0" for _host, changed in recap), recap
    assert _lab_state(lab) == before  # the servers themselves, not only the recap


def test_missing_group_is_named_before_any_host_is_contacted():
    run = _site("-e", "site_app_group=app_servers")
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "one host in group 'app_servers' (site_app_group" in output
    assert re.findall(r"^PLAY \[(.+?)\]", run.stdout, re.M) == ["Preflight | site settings and groups"]
