"""Renewal in webroot mode while Nginx holds port 80: nothing happens while the certificate is not
due; a renewed certificate is served at once, because Nginx reloads (HUP, no restart), with no
failed request from a client polling during the reload; playbooks/renew.yml does the same for every
proxy; the renewal job is a systemd timer on the proxy that runs Certbot only, and its runs renew."""

from __future__ import annotations

import re
import shlex
import time

import pytest

from conftest import run_playbook, server


RENEW = "/usr/local/sbin/djangoops-certbot-renew"
TIMER = "djangoops-certbot-renew.timer"
SERVICE = "djangoops-certbot-renew.service"
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
    # The lab's proxies boot with systemd: the role schedules a timer there, and no cron job (the
    # renewal never runs twice); its next run is within the role's schedule (twice a day).
    issuer = server("proxy1")
    state = issuer.run(f"systemctl is-enabled {TIMER}; systemctl is-active {TIMER}")
    assert state.stdout.split() == ["enabled", "active"], state.stdout + state.stderr
    shown = issuer.check_output(f"systemctl show -p NextElapseUSecRealtime -p LastTriggerUSec {TIMER}; systemctl show -p UserspaceTimestamp")
    props = dict(line.split("=", 1) for line in shown.splitlines())

    def epoch(timestamp: str) -> int:
        return int(issuer.check_output(f"date -d {shlex.quote(timestamp)} +%s"))

    now = int(issuer.check_output("date +%s"))
    next_in = epoch(props["NextElapseUSecRealtime"]) - now
    if next_in > 0:
        assert next_in <= 13 * 3600, props  # 12 h between runs at most, and up to 1 h of random delay
    else:
        # Persistent=true: a boot after an elapse the timer missed (it never ran, or the server was down)
        # runs the renewal once, within the timer's random delay (1 h) of the boot; until then systemd
        # shows the missed elapse. So: not run since, and booted less than that delay ago.
        assert props["LastTriggerUSec"] in ("", "n/a") or epoch(props["LastTriggerUSec"]) < now + next_in, props
        assert now - epoch(props["UserspaceTimestamp"]) <= 3600 + 60, props
    assert RENEW not in issuer.run("crontab -l").stdout
    other = server("proxy2")
    assert not other.file(f"/etc/systemd/system/{TIMER}").exists
    assert RENEW not in other.run("crontab -l").stdout
    assert not other.file(RENEW).exists


@pytest.mark.changes_lab
def test_the_timer_renews_a_due_certificate_and_nginx_serves_it(client, lab):
    """The role's timer and service, with the timer's period shortened for the lab (a drop-in in /run,
    gone at the next boot): a certificate made due (its renewal configuration asks for renewal 20,000
    days before expiry, longer than Pebble's certificates live) is renewed by the timer's run alone, and
    Nginx serves it."""
    issuer = server("proxy1")
    renewal = f"/etc/letsencrypt/renewal/{lab.domain}.conf"
    dropin_dir = f"/run/systemd/system/{TIMER}.d"
    dropin = f"{dropin_dir}/lab-every-10s.conf"
    before = client.served_serial(lab.proxy_public)
    saved = issuer.file(renewal).content_string
    last_exit = f"systemctl show -P ExecMainExitTimestampMonotonic {SERVICE}"
    exited_before = issuer.check_output(last_exit)
    try:
        # A top-level key, so before the first [section] (Certbot writes it commented out, at the top).
        issuer.check_output(f"sed -i -e '/^renew_before_expiry *=/d' -e '1a renew_before_expiry = 20000 days' {renewal}")
        issuer.check_output(f"mkdir -p {dropin_dir} && printf '%s\\n' '[Timer]' 'OnCalendar=' 'OnCalendar=*:*:0/10'"
                            f" 'RandomizedDelaySec=0' 'AccuracySec=1s' > {dropin} && systemctl daemon-reload && systemctl restart {TIMER}")
        # The first run the timer starts, to its end; then the short period goes, before a second run.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and issuer.check_output(last_exit) == exited_before:
            time.sleep(1)
        issuer.check_output(f"rm -r {dropin_dir} && systemctl daemon-reload && systemctl restart {TIMER}")
    finally:
        issuer.run(f"rm -rf {dropin_dir} && systemctl daemon-reload && systemctl restart {TIMER}")
        issuer.run("printf '%s' " + shlex.quote(saved) + f" > {renewal}")
    result = issuer.check_output(f"systemctl show -P Result {SERVICE}")
    journal = issuer.check_output(f"journalctl -u {SERVICE} -o cat --no-pager")
    assert result == "success", journal[-3000:]
    assert "certificate renewed; nginx reloaded" in journal, journal[-3000:]
    served = re.findall(r"serves serial (\w+) for \S+, the certificate on disk", journal)
    after = client.served_serial(lab.proxy_public)
    assert after != before and served and after.lstrip("0") == served[-1].lstrip("0"), (before, after, journal[-3000:])


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
