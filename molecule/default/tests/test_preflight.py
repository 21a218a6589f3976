"""Bad input stops the site playbook in its preflight, naming the culprit, before any host changes."""

from __future__ import annotations

import concurrent.futures
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


# The examples of the issue and a few more, through site.yml itself: (extra vars, the culprit named).
SITE_CASES = {
    "short-secret-key": ({"django_app_secret_key": "too-short"}, "django_app_secret_key"),
    "bad-server-name": ({"nginx_proxy_server_names": ["not a name!"]}, "nginx_proxy_server_names"),
    "renew-before-out-of-range": ({"certbot_renew_before": 2}, "certbot_renew_before"),
    "port-zero": ({"ufw_docker_ports": [0]}, "ufw_docker_ports"),
    # A site setting stops every host in the first play, before any host is contacted.
    "site-port-out-of-range": ({"site_app_port": 70000}, "site_app_port"),
    # Values that would change the structure of the file they land in, or open the site up.
    "nginx-directive-in-a-size": ({"nginx_proxy_client_max_body_size": "25m; autoindex on"},
                                  "nginx_proxy_client_max_body_size: '25m; autoindex on'"),
    "allow-all-source": ({"ufw_docker_extra_allowed_sources": ["0.0.0.0/0"]}, "ufw_docker_extra_allowed_sources[0]: '0.0.0.0/0'"),
    "extra-env-overrides-debug": ({"django_app_extra_env": {"DEBUG": "True"}}, "django_app_extra_env sets DEBUG"),
    "environment-prod": ({"django_app_environment": "prod"}, "django_app_environment"),
    "renew-minute-60": ({"certbot_renew_minute": 60}, "certbot_renew_minute: 60"),
    # Every host's private name one the servers' DNS server does not know: found on the servers, in the
    # preflight, before any of them changes.
    "private-name-nowhere": ({"private_name": "nowhere.djangoops.internal"}, "cannot resolve nowhere.djangoops.internal"),
}


# Stopped in the preflight: no role play started.
PREFLIGHT_PLAYS = ("Preflight | site settings and groups", "Preflight | role settings and Docker engines")


def _site_case(case: tuple[dict, str]) -> str:
    """What is wrong with site.yml's run on one bad input ('' when it stopped as it must)."""
    extra_vars, culprit = case
    run = _site("-e", json.dumps(extra_vars))
    output = run.stdout + run.stderr
    plays = re.findall(r"^PLAY \[(.+?)\]", run.stdout, re.M)
    recap = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", run.stdout, re.M)
    problems = [
        "it passed" if run.returncode == 0 else "",
        "" if culprit in output else f"{culprit!r} not named",
        "" if plays and plays[-1] in PREFLIGHT_PLAYS else f"it got to the play {plays[-1:]}",
        "" if recap and all(changed == "0" for _host, changed in recap) else f"changes in the recap {recap}",
    ]
    return "; ".join(problem for problem in problems if problem)


def test_bad_input_fails_in_preflight_without_changing_any_host(lab):
    """Each case alone through site.yml, three at a time; the servers are compared before and after
    all of them (their state, not only the recap)."""
    before = _lab_state(lab)
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        wrong = {case: problem for case, problem in zip(SITE_CASES, pool.map(_site_case, SITE_CASES.values())) if problem}
    assert wrong == {}
    assert _lab_state(lab) == before


def test_missing_group_is_named_before_any_host_is_contacted():
    run = _site("-e", "site_app_group=app_servers")
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "one host in group 'app_servers' (site_app_group" in output
    assert re.findall(r"^PLAY \[(.+?)\]", run.stdout, re.M) == ["Preflight | site settings and groups"]


# Bad input of every kind, as users write it, for the four roles and the site settings: each must stop
# playbooks/preflight.yml before it asks any Docker engine (so before any connection that could change
# a host), naming the variable. (case id: (extra vars, words the error must hold))
BAD_INPUTS = {
    "site-port-zero": ({"site_app_port": 0}, "site_app_port must be 1-65535"),
    "site-name-trailing-space": ({"site_server_names": ["polls.djangoops.test "]}, "site_server_names must list DNS names"),
    "site-group-with-colon": ({"site_app_group": "web:db"}, "site_app_group and site_proxy_group must be inventory group names"),
    "site-address-var-with-dash": ({"site_private_address_var": "private-address"}, "site_private_address_var"),
    "site-certificate-name-path": ({"site_certificate_name": "../x"}, "site_certificate_name must be a plain name"),
    "site-missing-group": ({"site_proxy_group": "edge"}, "one in group 'edge' (site_proxy_group"),
    "site-registry-with-space": ({"site_registry_logins": [{"registry": "ghcr io", "username": "bot", "password": "token-never-shown"}]},
                                 "site_registry_logins[0].registry: 'ghcr io' is not a registry host"),
    "app-manage-command-empty": ({"django_app_manage_command": []}, "django_app_manage_command list the program and its arguments"),
    "app-short-secret": ({"django_app_secret_key": "too-short"}, "django_app_secret_key must be at least 50"),
    "app-placeholder-secret": ({"django_app_secret_key": "django-insecure-" + "x1y2z3" * 9}, "no placeholder"),
    "app-port-as-text": ({"django_app_published_port": "eighty"}, "django_app_published_port"),
    "app-debug-in-production": ({"django_app_debug": True}, "django_app_debug must be false"),
    "app-star-host": ({"django_app_allowed_hosts": ["*"]}, "instead of '*'"),
    "app-wildcard-host": ({"django_app_allowed_hosts": ["*.djangoops.test"]}, "Django matches subdomains with a leading dot"),
    "app-environment-prod": ({"django_app_environment": "prod"}, "django_app_environment must be one of"),
    "app-extra-env-debug": ({"django_app_extra_env": {"DEBUG": "True"}}, "django_app_extra_env sets DEBUG"),
    "app-extra-env-hosts": ({"django_app_extra_env": {"DJANGO_ALLOWED_HOSTS": "*"}}, "django_app_extra_env sets DJANGO_ALLOWED_HOSTS"),
    "app-extra-env-newline": ({"django_app_extra_env": {"NOTE": "a\nDEBUG=True"}}, "django_app_extra_env values[0]: holds a newline"),
    "app-extra-env-bad-key": ({"django_app_extra_env": {"A B": "1"}}, "'A B' is not an environment variable name"),
    "app-healthcheck-quote": ({"django_app_healthcheck_path": "/polls/'); import os; ('"}, "django_app_healthcheck_path"),
    "app-healthcheck-relative": ({"django_app_healthcheck_path": "polls/"}, "django_app_healthcheck_path: 'polls/' is not a URL path"),
    "app-config-dir-etc": ({"django_app_config_dir": "/etc"}, "django_app_config_dir: '/etc' is a system directory"),
    "app-config-dir-dotdot": ({"django_app_config_dir": "/etc/djangoops/../../usr"}, "holds '..'"),
    "app-name-with-space": ({"django_app_name": "my polls"}, "django_app_name: 'my polls' is not a container name"),
    "app-database-host-newline": ({"django_app_database_host": "db\nDEBUG=True"}, "django_app_database_host: holds a newline"),
    "app-secret-with-newline": ({"django_app_database_password": "pw\nDEBUG=True"}, "django_app_database_password hold a newline"),
    "app-csrf-http-origin": ({"django_app_csrf_trusted_origins": ["http://polls.djangoops.test"]}, "django_app_csrf_trusted_origins"),
    "app-loglevel": ({"django_app_loglevel": "verbose"}, "django_app_loglevel must be one of"),
    "app-relative-ca-bundle": ({"django_app_static_ca_bundle": "lab-ca.pem"}, "django_app_static_ca_bundle 'lab-ca.pem' is a relative path"),
    "app-admin-without-password": ({"django_app_admin_password": ""}, "django_app_admin_password (12+ characters) is required"),
    "app-published-on-a-bad-host-name": ({"django_app_published_address": "app_1.internal"},
                                         "django_app_published_address: 'app_1.internal' is not an IP address or a host name"),
    "app-published-where-no-proxy-connects": ({"django_app_published_address": "10.87.0.99"},
                                              "the proxies connect to"),
    "app-check-ignore-not-an-id": ({"django_app_check_deploy_ignore": ["W018"]},
                                   "django_app_check_deploy_ignore[0]: 'W018' is not a Django check id"),
    "app-firewall-unknown": ({"django_app_firewall": "iptables"}, "django_app_firewall must be one of"),
    "app-health-body-not-a-regex": ({"django_app_healthcheck_body": "ok("}, "django_app_healthcheck_body: 'ok(' is not a regular expression"),
    "app-health-status-500": ({"django_app_healthcheck_status": 500}, "django_app_healthcheck_status must be a success or redirect status"),
    "app-hook-as-a-shell-line": ({"django_app_post_deploy_command": "curl -X POST https://chat.example.test/hook"},
                                 "django_app_pre_migrate_command and django_app_post_deploy_command must be lists"),
    "proxy-size-with-directive": ({"nginx_proxy_client_max_body_size": "25m; autoindex on"}, "nginx_proxy_client_max_body_size"),
    "proxy-bad-server-name": ({"nginx_proxy_server_names": ["polls.djangoops.test;"]}, "nginx_proxy_server_names must list DNS names"),
    "proxy-upstream-name-brace": ({"nginx_proxy_upstream_name": "django{"}, "nginx_proxy_upstream_name: 'django{' is not a name"),
    "proxy-config-dir-etc": ({"nginx_proxy_config_dir": "/etc"}, "nginx_proxy_config_dir: '/etc' is a system directory"),
    "proxy-preload-without-subdomains": ({"nginx_proxy_hsts_preload": True}, "nginx_proxy_hsts_preload needs"),
    "proxy-tls-profile": ({"nginx_proxy_tls_profile": "old"}, "nginx_proxy_tls_profile must be one of"),
    "proxy-to-themselves": ({"nginx_proxy_upstream_groups": ["nginx_proxy"]}, "holds hosts that are not app servers"),
    "proxy-upstream-port-mismatch": ({"nginx_proxy_upstream_port": 9000}, "the proxies send to port 9000"),
    "cert-name-nginx-never-reads": ({"certbot_cert_name": "other.djangoops.test"}, "Certbot obtains other.djangoops.test"),
    "cert-domain-trailing-space": ({"certbot_domains": ["polls.djangoops.test "]}, "certbot_domains[0]: 'polls.djangoops.test '"),
    "cert-renew-minute-60": ({"certbot_renew_minute": 60}, "certbot_renew_minute: 60 is not a schedule minute"),
    "cert-renew-hour-24": ({"certbot_renew_hour": "3,24"}, "certbot_renew_hour: '3,24' is not a schedule hour"),
    "cert-renew-before-two": ({"certbot_renew_before": 2}, "certbot_renew_before must be a fraction"),
    "cert-http-directory": ({"certbot_staging_directory": "http://198.51.100.31:14000/dir"}, "two different https:// ACME"),
    "cert-issuer-not-a-proxy": ({"certbot_issuer": "app1"}, "certbot_issuer ('app1') must be a host of the"),
    "cert-wildcard-over-http": ({"site_server_names": ["polls.djangoops.test", "*.polls.djangoops.test"]},
                                "a wildcard name can only be validated over DNS; set certbot_challenge to dns-rfc2136"),
    "cert-dns-server-by-name": ({"certbot_challenge": "dns-rfc2136", "certbot_dns_rfc2136_server": "ns.djangoops.test"},
                                "certbot_dns_rfc2136_server ('ns.djangoops.test') must be the IP address"),
    "cert-dns-secret-not-base64": ({"certbot_challenge": "dns-rfc2136", "certbot_dns_rfc2136_key_secret": "not base64!"},
                                   "certbot_dns_rfc2136_key_secret must be the TSIG key secret, base64"),
    "firewall-allow-all": ({"ufw_docker_extra_allowed_sources": ["0.0.0.0/0"]}, "ufw_docker_extra_allowed_sources[0]: '0.0.0.0/0'"),
    "firewall-bad-cidr": ({"ufw_docker_extra_allowed_sources": ["10.0.0.0/33"]}, "'10.0.0.0/33' is not an IP address"),
    "firewall-misses-app-port": ({"ufw_docker_ports": [8001]}, "but the firewall closes only [8001]"),
    "firewall-ssh-rule": ({"ufw_docker_ssh_rule": "deny"}, "ufw_docker_ssh_rule must be one of"),
}


def _preflight(case: tuple[dict, str]) -> subprocess.CompletedProcess:
    return run_playbook("playbooks/preflight.yml", "-e", json.dumps(case[0]))


def test_bad_inputs_of_every_kind_stop_the_preflight_and_change_no_host(lab):
    """Each case alone, three at a time; the lab's servers are compared before and after all of them."""
    assert len(BAD_INPUTS) >= 40
    before = _lab_state(lab)
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        runs = dict(zip(BAD_INPUTS, pool.map(_preflight, BAD_INPUTS.values())))
    wrong = []
    for case, run in runs.items():
        output = " ".join((run.stdout + run.stderr).split())
        words = BAD_INPUTS[case][1]
        if run.returncode == 0 or words not in output or "TASK [Ask the Docker engine for its version]" in run.stdout:
            wrong.append("%s: rc=%d, %r %s in the output%s" % (
                case, run.returncode, words, "found" if words in output else "NOT found",
                "; it reached the Docker engines" if "Ask the Docker engine" in run.stdout else ""))
    assert wrong == [], "\n".join(wrong)
    assert _lab_state(lab) == before


# The deploy user's sudo asks for a password (the lab's seed sets one, as the tutorial's servers have):
# a wrong or missing one stops the preflight at its first task that needs root, named as a sudo problem
# and with the ways to give the password, not as a Docker engine that does not answer.
SUDO_CASES = {
    "wrong": ("not-the-password", "Incorrect sudo password"),
    "missing": ("", "Missing sudo password"),
}


@pytest.mark.parametrize("case", list(SUDO_CASES))
def test_a_wrong_or_missing_sudo_password_stops_the_preflight_saying_so(lab, case):
    password, cause = SUDO_CASES[case]
    before = _lab_state(lab)
    run = run_playbook("playbooks/preflight.yml", "-e", json.dumps({"ansible_become_password": password}))
    said = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0, said[-3000:]
    for name in list(lab.app_servers) + list(lab.proxies):
        assert f"{name}: sudo did not make deploy root ({cause}). Give the sudo password: ansible-playbook -K" in said, said[-3000:]
    assert "the Docker engine does not answer" not in said
    assert _lab_state(lab) == before
