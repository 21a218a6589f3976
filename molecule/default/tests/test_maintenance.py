"""Maintenance mode (playbooks/maintenance.yml) on the grown second site (own_site.py), in the second lane: on, every
proxy answers the public with 503, Retry-After and the maintenance page (a POST too), while an allowed address
still reaches the app through either proxy; a site.yml run keeps the mode, an ACME renewal succeeds and is served,
a second run changes nothing; off, the app serves again without Retry-After. The site is left with maintenance off
whatever happens.

In the second lane after test_start_small.py and the main-site readers (conftest.LANE_ORDER): its renewal asks the
lab's CAs, and the main sequence's check that counts every request they handle, whatever the name
(test_certificates.py, marker counts_ca_requests), waits until it is done."""

from __future__ import annotations

import re

import pytest

from conftest import changed_per_host, run_playbook, server
from own_site import GROWN_APPS, GROWN_PROXY, SITE, SOLO


pytestmark = pytest.mark.changes_lab

RENEW = "/usr/local/sbin/djangoops-certbot-renew"
FLAG = "/etc/djangoops/nginx/maintenance/on"  # nginx_proxy_config_dir/maintenance/on on each proxy
PROXIES = (SOLO, GROWN_PROXY)
# One app server's private address is allowed through; another's is not (both ask the proxies' private addresses).
ALLOWED, NOT_ALLOWED = GROWN_APPS
ALLOW = ("-e", '{"nginx_proxy_maintenance_allow": ["%s"]}' % ALLOWED.inventory()["private_address"])
PAGE_TITLE = "<title>Down for maintenance</title>"


def _maintenance(site, state: str):
    return run_playbook("playbooks/maintenance.yml", "-e", f"state={state}", inventories=site.inventories)


@pytest.fixture(scope="module")
def maintenance_off_afterwards(site):
    """Whatever happens in between, the site ends with maintenance off (its allow list, idle then, stays in the
    configuration until the site's next converge)."""
    yield
    off = _maintenance(site, "off")
    assert off.returncode == 0, off.stdout[-5000:] + off.stderr
    assert [name for name in (proxy.name for proxy in PROXIES) if server(name).run(f"test -e {FLAG}").rc == 0] == []


def _public(site_client, proxy: str, *args: str) -> tuple[str, dict[str, str], str]:
    """Status, headers (lower-case names) and body of the site's page from the public client through one proxy."""
    out = site_client.run(f"curl -sS -D - --max-time 10 --cacert /lab/pki/pebble-production-root.pem {' '.join(args)}"
                          f" --resolve {SITE}:443:{proxy} https://{SITE}/polls/")
    assert out.rc == 0, out.stderr
    head, body = (out.stdout.replace("\r\n", "\n").split("\n\n", 1) + [""])[:2]
    status = head.split("\n", 1)[0].split()[1]
    headers = {}
    for line in head.split("\n")[1:]:
        name, value = (line.split(":", 1) + [""])[:2]
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def _from_app_server(name: str, proxy: str) -> str:
    """Status of the site's page asked by an app server at a proxy's private address (the lab CA is not on the
    servers: -k; the certificate is checked from the client elsewhere)."""
    return server(name).check_output(f"curl -sS -k -o /dev/null -w '%{{http_code}}' --max-time 10 --resolve {SITE}:443:{proxy}"
                                     f" https://{SITE}/polls/")


def _assert_in_maintenance(site_client) -> None:
    for proxy in PROXIES:
        status, headers, body = _public(site_client, proxy.public)
        assert status == "503", (proxy.name, status, headers)
        assert headers.get("retry-after") == "600", (proxy.name, headers)
        assert headers.get("cache-control") == "no-store" and "max-age=" in headers.get("strict-transport-security", ""), headers
        assert headers.get("content-type", "").startswith("text/html"), headers
        assert PAGE_TITLE in body, (proxy.name, body[:500])
        assert "x-served-by" not in headers, headers  # no app server was asked
        # A form sent meanwhile gets the page too, not an error of Nginx's own.
        status, headers, body = _public(site_client, proxy.public, "-X", "POST", "-d", "choice=1")
        assert (status, headers.get("retry-after"), PAGE_TITLE in body) == ("503", "600", True), (proxy.name, status, headers)


def test_maintenance_on_site_yml_renewal_and_off(site, site_client, maintenance_off_afterwards):
    for proxy in PROXIES:
        assert _public(site_client, proxy.public)[0] == "200"

    on = _maintenance(site, "on")
    assert on.returncode == 0, on.stdout[-5000:] + on.stderr
    assert {name: changed_per_host(on.stdout).get(name) for name in (SOLO.name, GROWN_PROXY.name)} == {
        SOLO.name: 1, GROWN_PROXY.name: 1}, on.stdout[-3000:]
    # At once: no reload, no configuration test, no fleet lock.
    assert "Reload nginx" not in on.stdout and "nginx -t" not in on.stdout and "Fleet lock" not in on.stdout
    _assert_in_maintenance(site_client)

    # A converge (with one app server's address allowed through) keeps the mode.
    converged = run_playbook("playbooks/site.yml", *ALLOW, inventories=site.inventories)
    assert converged.returncode == 0, converged.stdout[-8000:] + converged.stderr
    _assert_in_maintenance(site_client)
    # The allowed address reaches the app through either proxy; its neighbour does not.
    for proxy in PROXIES:
        private = proxy.inventory()["private_address"]
        assert _from_app_server(ALLOWED.name, private) == "200", proxy.name
        assert _from_app_server(NOT_ALLOWED.name, private) == "503", proxy.name

    # Switching on again changes nothing.
    again = _maintenance(site, "on")
    assert again.returncode == 0, again.stdout[-5000:] + again.stderr
    assert {name: changed_per_host(again.stdout).get(name) for name in (SOLO.name, GROWN_PROXY.name)} == {
        SOLO.name: 0, GROWN_PROXY.name: 0}, again.stdout[-3000:]

    # ACME challenges are answered meanwhile: a forced renewal on the issuer (the first proxy) succeeds and is served.
    before = site_client.served_serial(SOLO.public)
    renewed = server(SOLO.name).run(f"{RENEW} --force-renewal")
    assert renewed.rc == 0, renewed.stdout + renewed.stderr
    assert "certificate renewed: serial" in renewed.stdout and "nginx reloaded" in renewed.stdout, renewed.stdout
    served = re.search(r"serves serial (\w+) for \S+, the certificate on disk", renewed.stdout)
    assert served, renewed.stdout
    after = site_client.served_serial(SOLO.public)
    assert after != before and after.lstrip("0") == served.group(1).lstrip("0")
    _assert_in_maintenance(site_client)  # the reload kept the mode too

    off = _maintenance(site, "off")
    assert off.returncode == 0, off.stdout[-5000:] + off.stderr
    for proxy in PROXIES:
        status, headers, body = _public(site_client, proxy.public)
        assert status == "200" and "retry-after" not in headers and PAGE_TITLE not in body, (proxy.name, status, headers)
        assert headers.get("x-served-by"), headers
