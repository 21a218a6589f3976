"""Renewal in webroot mode while Nginx holds port 80: nothing happens while the certificate is not
due; a renewed certificate is served at once, because Nginx reloads (HUP, no restart), with no
failed request from a client polling during the reload; playbooks/renew.yml does the same for every
proxy; the renewal job is scheduled on the proxy that runs Certbot only."""

from __future__ import annotations

import re

import pytest

from conftest import run_playbook, server


RENEW = "/usr/local/sbin/djangoops-certbot-renew"
# Certbot sleeps up to 8 minutes before a non-interactive renewal (kind to the CA when run from
# cron); the checks skip that wait.
NO_SLEEP = "--no-random-sleep-on-renew"


def _nginx_started_at(name: str) -> str:
    return server(name).check_output("docker inspect --format '{{.State.StartedAt}}' nginx")


def _check_no_failure(polled, what: str, errors: list[str]) -> None:
    failed = [entry for entry in polled if entry[0] != "200"]
    print(f"polled {len(polled)} requests during {what}, {len(failed)} failed")
    assert len(polled) >= 20, polled
    assert failed == [], f"{failed}; curl said: {errors}"


@pytest.mark.readonly
def test_the_renewal_job_is_scheduled_on_the_issuer_only():
    assert RENEW in server("proxy1").check_output("crontab -l")
    assert RENEW not in server("proxy2").run("crontab -l").stdout
    assert not server("proxy2").file(RENEW).exists


@pytest.mark.readonly
def test_renewal_job_does_nothing_while_the_certificate_is_valid(client, lab):
    before = client.served_serial(lab.proxy_public)
    run = server("proxy1").run(f"{RENEW} {NO_SLEEP}")
    assert run.rc == 0, run.stdout + run.stderr
    assert "not due for renewal" in run.stdout + run.stderr
    assert "nginx reloaded" not in run.stdout
    assert client.served_serial(lab.proxy_public) == before


@pytest.mark.changes_lab
def test_a_forced_renewal_is_served_after_a_reload_without_a_failed_request(client, lab):
    before = client.served_serial(lab.proxy_public)
    started = _nginx_started_at("proxy1")
    client.start_polling([lab.proxy_public])
    run = server("proxy1").run(f"{RENEW} {NO_SLEEP} --force-renewal")
    polled = client.stop_polling()
    assert run.rc == 0, run.stdout + run.stderr
    assert "certificate renewed; nginx reloaded" in run.stdout
    # The job checked, after the reload, that Nginx serves the serial on disk.
    served = re.search(r"serves serial (\w+) for \S+, the certificate on disk", run.stdout)
    assert served, run.stdout
    after = client.served_serial(lab.proxy_public)
    assert after != before and after.lstrip("0") == served.group(1).lstrip("0")
    assert _nginx_started_at("proxy1") == started, "nginx was restarted, not reloaded"
    _check_no_failure(polled, "the renewal and reload", client.poll_errors)
    verified = client.curl(f"https://{lab.domain}/polls/", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}")
    assert verified.stdout == "200 0"  # still from the production CA


@pytest.mark.changes_lab
def test_the_renew_playbook_brings_every_proxy_the_new_certificate(client, lab):
    addresses = lab.proxy_addresses
    started = {name: _nginx_started_at(name) for name in lab.proxies}
    # The job above renewed on proxy1 only: proxy2 still serves the older certificate.
    assert client.served_serial(addresses[0]) != client.served_serial(addresses[1])
    client.start_polling(addresses)
    run = run_playbook("playbooks/renew.yml", "-e", "certbot_force=true")
    polled = client.stop_polling()
    assert run.returncode == 0, run.stdout + run.stderr
    changed = dict(re.findall(r"^(proxy\d)\s+: ok=\d+\s+changed=(\d+)", run.stdout, re.M))
    assert set(changed) == set(lab.proxies) and "0" not in changed.values(), changed  # renewed; copied
    serials = {address: client.served_serial(address) for address in addresses}
    assert len(set(serials.values())) == 1, serials
    assert {name: _nginx_started_at(name) for name in lab.proxies} == started, "nginx was restarted, not reloaded"
    _check_no_failure(polled, "renew.yml", client.poll_errors)
    assert {entry[2] for entry in polled} == set(addresses)

    # Nothing due: nothing renewed, copied or reloaded.
    again = run_playbook("playbooks/renew.yml")
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.findall(r"^(proxy\d)\s+: ok=\d+\s+changed=(\d+)", again.stdout, re.M) == [("proxy1", "0"), ("proxy2", "0")]
