"""Renewal in webroot mode while Nginx holds port 80: nothing happens while the certificate is not
due, and a renewed certificate is served at once because Nginx is reloaded."""

from __future__ import annotations

import re
import time

import testinfra

RENEW = "/usr/local/sbin/djangoops-certbot-renew"
# Certbot sleeps up to 8 minutes before a non-interactive renewal (kind to the CA when run from
# cron); the checks skip that wait.
NO_SLEEP = "--no-random-sleep-on-renew"


def _served_serial(client, lab) -> str:
    out = client.run(
        f"echo | openssl s_client -connect {lab.proxy_public}:443 -servername {lab.domain} 2>/dev/null"
        " | openssl x509 -noout -serial"
    ).stdout
    return re.search(r"serial=(\w+)", out).group(1)


def test_renewal_job_does_nothing_while_the_certificate_is_valid(client, lab):
    proxy = testinfra.get_host("docker://djangoops-lab-proxy1")
    before = _served_serial(client, lab)
    run = proxy.run(f"{RENEW} {NO_SLEEP}")
    assert run.rc == 0, run.stdout + run.stderr
    assert "not due for renewal" in run.stdout + run.stderr
    assert "nginx reloaded" not in run.stdout
    assert _served_serial(client, lab) == before


def test_renewed_certificate_is_served_after_the_reload(client, lab):
    proxy = testinfra.get_host("docker://djangoops-lab-proxy1")
    before = _served_serial(client, lab)
    run = proxy.run(f"{RENEW} {NO_SLEEP} --force-renewal")
    assert run.rc == 0, run.stdout + run.stderr
    assert "certificate renewed; nginx reloaded" in run.stdout
    # A reload starts new workers and lets the old ones finish: allow it a few seconds.
    for _attempt in range(20):
        if _served_serial(client, lab) != before:
            break
        time.sleep(0.5)
    assert _served_serial(client, lab) != before
    verified = client.curl(f"https://{lab.domain}/polls/", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}")
    assert verified.stdout == "200 0"  # still from the production CA
