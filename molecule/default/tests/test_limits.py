"""Proxy limits on the main site (issue 23): 50 login attempts within a few seconds from one address get 429s with
Retry-After once the configured burst is spent, while the lab client browses on; a client that sends its request
header a byte a second is cut at the configured header timeout.

The attacker is the lab's S3 server (djangoops-lab-s3): on the public network like the client, with curl, python3 and
the lab's PKI mounted at /lab/pki as on the client (the production root is trusted there too, no -k). Its address is
its own, so the zones of the client's address, which every check that loads the site shares, are never touched.
Nothing on the site changes (the login attempts carry no CSRF token: Django refuses them with 403).
"""

from __future__ import annotations

import json
import math
import re
import shlex
import time

import pytest
import testinfra
import yaml

from conftest import PROJECT, server


pytestmark = pytest.mark.readonly

ATTACKER = "djangoops-lab-s3"
ATTEMPTS = 50
# When the attacker last spent its login burst: a check run again soon after waits until the zone has refilled.
LAST_BURST = "/tmp/djangoops-limits-last-burst"
ROLE_DEFAULTS = yaml.safe_load((PROJECT / "roles" / "nginx_proxy" / "defaults" / "main.yml").read_text(encoding="utf-8"))


def _setting(lab, name: str):
    """A nginx_proxy setting as the lab's proxies get it: the inventory's, else the role's default."""
    return lab.all_vars.get(name, ROLE_DEFAULTS[name])


def _per_second(rate: str) -> float:
    count, unit = re.fullmatch(r"(\d+)r/([sm])", rate).groups()
    return int(count) / (60 if unit == "m" else 1)


def _seconds(nginx_time: str) -> float:
    value, unit = re.fullmatch(r"(\d+)(ms|s|m|h)?", str(nginx_time)).groups()
    return int(value) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[unit]


@pytest.fixture(scope="module")
def attacker():
    return testinfra.get_host(f"docker://{ATTACKER}")


def test_each_proxy_runs_the_configured_zones(lab):
    rate, login_rate = _setting(lab, "nginx_proxy_limit_req_rate"), _setting(lab, "nginx_proxy_limit_login_rate")
    for name in lab.proxies:
        limits = server(name).file("/etc/djangoops/nginx/conf.d/05-limits.conf").content_string
        assert f"zone=djangoops_req:10m rate={rate};" in limits, (name, limits)
        assert f"zone=djangoops_login:10m rate={login_rate};" in limits, (name, limits)
        site = server(name).file("/etc/djangoops/nginx/conf.d/10-site.conf").content_string
        for path in _setting(lab, "nginx_proxy_limit_login_locations"):
            assert f"location {path} {{" in site, (name, path)


def test_login_attempts_beyond_the_burst_get_429_while_another_client_browses(lab, client, attacker):
    burst, rate = _setting(lab, "nginx_proxy_limit_login_burst"), _per_second(_setting(lab, "nginx_proxy_limit_login_rate"))
    retry_after = str(_setting(lab, "nginx_proxy_limit_retry_after"))
    # A zone spent by an earlier run of this check refills a request every 1/rate seconds.
    last = attacker.run(f"cat {LAST_BURST}").stdout.strip()
    if last:
        time.sleep(max(0.0, float(last) + (burst + 1) / rate - time.time()))

    client.start_polling([lab.proxy_public], max_seconds=60)
    try:
        time.sleep(1)
        url = f"https://{lab.domain}/admin/login/"
        # One curl, one connection, the attempts one after another as fast as the proxy answers.
        command = ["curl", "-sS", "--max-time", "30", "--cacert", "/lab/pki/pebble-production-root.pem",
                   "--resolve", f"{lab.domain}:443:{lab.proxy_public}", "-X", "POST", "-d", "username=admin&password=guess",
                   "-w", "%{http_code} %header{retry-after} %header{strict-transport-security}\\n",
                   *[arg for _attempt in range(ATTEMPTS) for arg in ("-o", "/dev/null", url)]]
        started = time.monotonic()
        burst_run = attacker.run(shlex.join(command) + f"; date +%s > {LAST_BURST}")
        elapsed = time.monotonic() - started
        time.sleep(1)
    finally:
        polled = client.stop_polling()
    assert burst_run.rc == 0, burst_run.stderr
    answers = [(line.split(" ", 2) + ["", ""])[:3] for line in burst_run.stdout.splitlines()]
    statuses = [answer[0] for answer in answers]
    assert len(statuses) == ATTEMPTS and elapsed < 15, (elapsed, statuses)

    # The first burst + 1 reach the app (Django refuses a login without its CSRF token: 403); then 429s, but for the
    # few the zone's rate lets through meanwhile.
    assert [status for status in statuses[:burst + 1] if status == "429"] == [], statuses
    late = [index for index, status in enumerate(statuses) if index > burst and status != "429"]
    assert len(late) <= math.floor(elapsed * rate) + 1, (elapsed, statuses)
    assert set(statuses) <= {"403", "429"}, statuses
    for status, retry, hsts in answers:
        if status == "429":
            assert retry == retry_after and hsts.startswith("max-age="), (status, retry, hsts)

    # The lab client, meanwhile: every page served, none refused.
    assert len(polled) >= 3 and client.poll_errors == [], (polled, client.poll_errors)
    assert {status for status, *_rest in polled} == {"200"}, polled


# Connects, then sends a request header one byte a second until the proxy closes the connection; prints the seconds
# from the connection (after the TLS handshake, for 443) to the close.
SLOW_CLIENT = r"""
import json, socket, ssl, sys, time
address, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
started = time.monotonic()
sock = socket.create_connection((address, port), timeout=10)
if port == 443:
    context = ssl.create_default_context(cafile="/lab/pki/pebble-production-root.pem")
    context.set_alpn_protocols(["http/1.1"])
    sock = context.wrap_socket(sock, server_hostname=name)
header = ("GET /polls/ HTTP/1.1\r\nHost: %s\r\nX-Slow: %s" % (name, "a" * 100)).encode()
sock.settimeout(1)
result = {"port": port, "closed_after": None, "sent": 0}
for byte in header:
    try:
        sock.sendall(bytes([byte]))
        result["sent"] += 1
        if sock.recv(1) == b"":
            result["closed_after"] = time.monotonic() - started
            break
    except socket.timeout:
        continue
    except (OSError, ssl.SSLError) as error:
        result["closed_after"], result["error"] = time.monotonic() - started, type(error).__name__
        break
print(json.dumps(result))
"""


def test_a_client_sending_its_header_slowly_is_cut_at_the_header_timeout(lab, attacker):
    timeout = _seconds(_setting(lab, "nginx_proxy_client_header_timeout"))
    # Plain HTTP and HTTPS at once: the timeout is the same for both (http level), the check takes it once.
    script = shlex.quote(SLOW_CLIENT)
    runs = " & ".join(f"python3 -c {script} {lab.proxy_public} {port} {lab.domain} > /tmp/djangoops-slow-{port}.json"
                      for port in (80, 443))
    started = time.monotonic()
    run = attacker.run(f"{runs} & wait; cat /tmp/djangoops-slow-80.json /tmp/djangoops-slow-443.json")
    assert run.rc == 0 and time.monotonic() - started < timeout + 30, (run.stdout, run.stderr)
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert [result["port"] for result in results] == [80, 443], results
    for result in results:
        # Cut at the timeout (the clock starts at the connection), a second's slack for the client's polling and the
        # lab's busy cores; never before, and long before the whole header was sent.
        assert result["closed_after"] is not None, result
        assert timeout - 0.5 <= result["closed_after"] <= timeout + 3, result
        assert result["sent"] < timeout + 5, result
