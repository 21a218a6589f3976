"""Renewal while Nginx holds port 80: every proxy runs the renewal job from its timer; nothing happens
while the certificate is not due; a renewed certificate is served at once, because Nginx reloads (HUP,
no restart), with no failed request from a client polling during the reload; playbooks/renew.yml does
the same for every proxy. Over short renewal cycles (a CA whose certificates live 90 seconds, timers
every few seconds), both proxies keep serving a valid certificate, also while the issuer is down, with
one order per renewal."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time

import pytest

from conftest import issued_serials, run_playbook, server
from test_certificates import PROXIES_ONLY, _dns


RENEW = "/usr/local/sbin/djangoops-certbot-renew"
TIMER = "djangoops-certbot-renew.timer"
SERVICE = "djangoops-certbot-renew.service"


def _nginx_started_at(name: str) -> str:
    return server(name).check_output("docker inspect --format '{{.State.StartedAt}}' nginx")


def _check_no_failure(polled, what: str, errors: list[str]) -> None:
    failed = [entry for entry in polled if entry[0] != "200"]
    print(f"polled {len(polled)} requests during {what}, {len(failed)} failed")
    assert len(polled) >= 20, polled
    assert failed == [], f"{failed}; curl said: {errors}"


@pytest.mark.readonly
def test_the_renewal_job_is_scheduled_on_every_proxy(lab):
    # The lab's proxies boot with systemd: the role schedules a timer on each, and no cron job (the
    # renewal never runs twice on one proxy); its next run is within the role's schedule (twice a day).
    for name in lab.proxies:
        proxy = server(name)
        state = proxy.run(f"systemctl is-enabled {TIMER}; systemctl is-active {TIMER}")
        assert state.stdout.split() == ["enabled", "active"], (name, state.stdout + state.stderr)
        shown = proxy.check_output(f"systemctl show -p NextElapseUSecRealtime -p LastTriggerUSec {TIMER}; systemctl show -p UserspaceTimestamp")
        props = dict(line.split("=", 1) for line in shown.splitlines())

        def epoch(timestamp: str) -> int:
            return int(proxy.check_output(f"date -d {shlex.quote(timestamp)} +%s"))

        now = int(proxy.check_output("date +%s"))
        next_in = epoch(props["NextElapseUSecRealtime"]) - now
        if next_in > 0:
            assert next_in <= 13 * 3600, props  # 12 h between runs at most, and up to 1 h of random delay
        else:
            # Persistent=true: a boot after an elapse the timer missed (it never ran, or the server was down)
            # runs the renewal once, within the timer's random delay (1 h) of the boot; until then systemd
            # shows the missed elapse. So: not run since, and booted less than that delay ago.
            assert props["LastTriggerUSec"] in ("", "n/a") or epoch(props["LastTriggerUSec"]) < now + next_in, props
            assert now - epoch(props["UserspaceTimestamp"]) <= 3600 + 60, props
        assert RENEW not in proxy.run("crontab -l").stdout


@pytest.mark.readonly
def test_a_proxy_reads_its_peer_s_certificate_with_a_key_that_can_do_nothing_else(lab):
    """Each proxy lets the other in as djangoops-certsync with one key, from the other's private address,
    and whatever that key asks to run, the peer prints its exported lineage (root's 0640 file for that
    user's group) and nothing else. No PEM shows in this test's output."""
    names = list(lab.proxies)
    for name, peer in ((names[0], names[1]), (names[1], names[0])):
        proxy, other = server(name), server(peer)
        peer_address = f"{peer}.{lab.all_vars['lab_private_zone']}"  # as the job reaches it (site_private_address_var)
        key = proxy.check_output("cat /etc/djangoops/certsync/id_ed25519.pub").split()[1]
        keys = other.check_output("cat /var/lib/djangoops-certsync/.ssh/authorized_keys").splitlines()
        (line,) = [entry for entry in keys if entry and not entry.startswith("#")]
        # The peer's private name, as this proxy resolves it (sshd does not look names up).
        assert line == ('restrict,command="cat /var/lib/djangoops-certsync/bundle.json 2>/dev/null || true",'
                        f'from="{lab.proxies[name]["private_address"]}" ssh-ed25519 {key}'), line
        assert other.file("/var/lib/djangoops-certsync/.ssh/authorized_keys").user == "root"
        bundle = other.file("/var/lib/djangoops-certsync/bundle.json")
        assert (bundle.user, bundle.group, oct(bundle.mode)) == ("root", "djangoops-certsync", "0o640")
        # Asking for a shell command gets the export all the same (the forced command).
        asked = proxy.run("ssh -i /etc/djangoops/certsync/id_ed25519 -o BatchMode=yes -o StrictHostKeyChecking=yes"
                          " -o UserKnownHostsFile=/etc/djangoops/certsync/known_hosts"
                          f" djangoops-certsync@{peer_address} id")
        assert asked.rc == 0, asked.stderr
        assert "uid=" not in asked.stdout
        exported = json.loads(asked.stdout)
        assert (exported["host"], exported["cert_name"], sorted(exported["files"])) == (
            peer, lab.domain, ["cert", "chain", "fullchain", "privkey"])


@pytest.mark.readonly
def test_renewal_job_does_nothing_while_the_certificate_is_valid(client, lab):
    before = [client.served_serial(address) for address in lab.proxy_addresses]
    for name in lab.proxies:
        run = server(name).run(RENEW)
        assert run.rc == 0, run.stdout + run.stderr
        assert "not due until" in run.stdout, run.stdout
        # The issuer renews first; the other proxy only if the issuer has not renewed by its turn.
        assert ("standby 1 of 1" in run.stdout) == (name != "proxy1"), run.stdout
        assert "nginx reloaded" not in run.stdout
    assert [client.served_serial(address) for address in lab.proxy_addresses] == before


@pytest.mark.changes_lab
def test_a_forced_renewal_is_served_after_a_reload_without_a_failed_request(client, lab):
    before = client.served_serial(lab.proxy_public)
    started = _nginx_started_at("proxy1")
    client.start_polling([lab.proxy_public])
    run = server("proxy1").run(f"{RENEW} --force-renewal")
    polled = client.stop_polling()
    assert run.rc == 0, run.stdout + run.stderr
    assert "certificate renewed: serial" in run.stdout and "nginx reloaded" in run.stdout, run.stdout
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
    assert set(changed) == set(lab.proxies) and "0" not in changed.values(), changed  # renewed; taken
    serials = {address: client.served_serial(address) for address in addresses}
    assert len(set(serials.values())) == 1, serials
    assert {name: _nginx_started_at(name) for name in lab.proxies} == started, "nginx was restarted, not reloaded"
    _check_no_failure(polled, "renew.yml", client.poll_errors)
    assert {entry[2] for entry in polled} == set(addresses)

    # Nothing due: nothing renewed, copied or reloaded.
    again = run_playbook("playbooks/renew.yml")
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.findall(r"^(proxy\d)\s+: ok=\d+\s+changed=(\d+)", again.stdout, re.M) == [("proxy1", "0"), ("proxy2", "0")]


def _from_first_shared(first: list[str], second: list[str]) -> tuple[list[str], list[str]]:
    """Two proxies' served serials from the first one both served (either may have begun with an older one)."""
    shared = next((serial for serial in first if serial in second), None)
    if shared is None:
        return first, second
    return first[first.index(shared):], second[second.index(shared):]


def _serial_or_none(client, address: str) -> str | None:
    """What a proxy serves now (no leading zeros), or None while it boots."""
    try:
        return client.served_serial(address).lstrip("0")
    except AssertionError:
        return None


@pytest.mark.changes_lab
@pytest.mark.mostly_waits
def test_short_renewal_cycles_keep_every_running_proxy_serving_also_with_the_issuer_down(client, lab):
    """The proxies converge against a CA whose certificates live 90 seconds, their timers every 5 seconds
    (lab settings). Every proxy's job renews by itself: the issuer at half the lifetime, the other proxy
    takes that certificate; with the issuer stopped (the CA's DNS then lists the other proxy alone, as
    health-checked DNS would), the other proxy renews at its turn; the issuer, booted again, takes that
    certificate. Clients of every running proxy get the site over a verified certificate at every poll,
    and the CA issued exactly one certificate per certificate served. Then, with the CA unreachable, the
    failed renewal reaches the lab's webhook receiver and the proxy's metrics, and renew.yml warns about
    the certificate running out."""
    shortlived = f"https://{lab.all_vars['lab_pebble_shortlived_address']}:14000/dir"
    validity = int(lab.all_vars["lab_pebble_shortlived_validity"])
    ca = "pebble-shortlived-root.pem"
    addresses = dict(zip(lab.proxies, lab.proxy_addresses))
    issued_before, staging_before = len(issued_serials("shortlived")), len(issued_serials("staging"))
    seen: dict[str, list[str]] = {name: [] for name in lab.proxies}  # each proxy's served serials, in order

    def watch(names: list[str], done, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name in names:
                serial = _serial_or_none(client, addresses[name])
                if serial and (not seen[name] or seen[name][-1] != serial):
                    seen[name].append(serial)
            if done():
                return
            time.sleep(2)
        raise AssertionError(f"not within {timeout} s; served so far: {seen}")

    def journal(name: str) -> str:
        return server(name).check_output(f"journalctl -u {SERVICE} -o cat --no-pager")

    chosen = ("-e", f"certbot_production_directory={shortlived}", "-e", "site_certificate_name=polls-shortlived")
    webhook = client.start_webhook()
    settings = (*PROXIES_ONLY, *chosen, "-e", "certbot_renew_on_calendar=*:*:0/5", "-e", "certbot_renew_randomized_delay=0",
                "-e", f"certbot_alert_webhook_url={webhook}")
    blocked: list[str] = []

    def forget_the_lineage() -> None:
        # A first issuance each time (staging first), not a renewal of the last run's lineage.
        for name in lab.proxies:
            server(name).check_output("rm -rf /etc/letsencrypt*/live/polls-shortlived /etc/letsencrypt*/archive/polls-shortlived"
                                      " /etc/letsencrypt*/renewal/polls-shortlived.conf")

    forget_the_lineage()
    try:
        run = run_playbook("playbooks/site.yml", *settings)
        assert run.returncode == 0, run.stdout + run.stderr
        # While the converge switched the certificate name, a timer's run could take the new lineage before
        # Nginx served it and report the mismatch (known; the next run is clean): only what follows counts.
        client.clear_webhook()

        # Both proxies up: two renewals by the issuer's timer, each taken by the other proxy.
        client.start_polling(list(addresses.values()), ca=ca, max_seconds=600)
        watch(list(lab.proxies), lambda: all(len(serials) >= 3 and serials[-1] == seen["proxy1"][-1]
                                             for serials in seen.values()), timeout=4 * validity)
        _check_no_failure(client.stop_polling(), "two renewals by the timers", client.poll_errors)
        # The same certificates, none ordered by proxy2. When the polling began, the issuer may have just
        # renewed while proxy2 still served the one before (it takes the new one at its next timer run).
        proxy1_served, proxy2_served = _from_first_shared(seen["proxy1"], seen["proxy2"])
        assert proxy1_served == proxy2_served, seen

        # The issuer down for a cycle: the other proxy renews at its turn (three quarters of the lifetime).
        subprocess.run(["docker", "stop", "djangoops-lab-proxy1"], check=True, capture_output=True)
        try:
            proxy2 = lab.proxies["proxy2"]
            with _dns(lab, [proxy2["ansible_host"], proxy2["public_ipv6"]]):
                client.start_polling([addresses["proxy2"]], ca=ca, max_seconds=600)
                before = len(seen["proxy2"])
                watch(["proxy2"], lambda: len(seen["proxy2"]) > before, timeout=2 * validity)
                _check_no_failure(client.stop_polling(), "a renewal by proxy2 with proxy1 down", client.poll_errors)
        finally:
            subprocess.run(["docker", "start", "djangoops-lab-proxy1"], check=True, capture_output=True)
        # proxy2's own timer ordered it (its journal holds its timer's runs only; proxy2 never renewed before).
        assert "certificate renewed" in journal("proxy2"), journal("proxy2")[-3000:]

        # The issuer back: its first run takes the certificate proxy2 renewed (and renews it at once if it is
        # due by then); both serve the same again.
        before_outage = seen["proxy1"][-1]
        watch(list(lab.proxies), lambda: seen["proxy1"][-1] != before_outage and seen["proxy1"][-1] == seen["proxy2"][-1],
              timeout=3 * validity)
        assert "certificate adopted" in journal("proxy1"), journal("proxy1")[-3000:]

        def issued_since() -> list[str]:
            """What the CA issued from the oldest certificate a proxy served when the polling began: on a busy
            machine the converge outlasts half a lifetime, and the issuer's timer renews the converge's
            certificate before anyone polls (the note on the webhook above), so only what follows counts."""
            issued = [serial.lstrip("0") for serial in issued_serials("shortlived")[issued_before:]]
            firsts = [issued.index(serials[0]) for serials in seen.values() if serials and serials[0] in issued]
            return issued[min(firsts):] if firsts else issued

        def served_so_far() -> set[str]:
            return {serial for serials in seen.values() for serial in serials}

        # The issuer may renew what it adopted at once (when it was due by then): that certificate is served
        # within seconds of its issue, after the watch above ended. Watch until every issued one was seen.
        try:
            watch(list(lab.proxies), lambda: set(issued_since()) <= served_so_far(), timeout=validity)
        except AssertionError:
            pass  # the assertion below says which certificate no proxy served
        issued, served = issued_since(), served_so_far()
        # One order per certificate: the first one served and one per renewal, each served (none wasted).
        assert sorted(issued) == sorted(served), (issued, seen)
        assert len(issued) >= 4, (issued, seen)
        assert len(issued_serials("staging")) == staging_before + 1  # the converge's, staging first
        assert client.webhook_posts() == []  # no run failed

        # The CA unreachable from the proxies (refused): the next renewal fails; the failure reaches the
        # webhook and each proxy's metrics, and renew.yml warns about the certificate running out.
        ca_address = lab.all_vars["lab_pebble_shortlived_address"]
        # OUTPUT for the job itself, FORWARD for the Certbot container it starts (the proxy routes its traffic).
        for name in lab.proxies:
            blocked.append(name)
            server(name).check_output(f"iptables -I OUTPUT -d {ca_address} -j REJECT && iptables -I FORWARD -d {ca_address} -j REJECT")

        def from_proxy1() -> list[dict]:
            return [post for post in client.webhook_posts() if post["body"].get("host") == "proxy1"]

        deadline = time.monotonic() + 2 * validity
        while time.monotonic() < deadline and not from_proxy1():
            time.sleep(2)
        (first, *_more) = from_proxy1() or [None]
        assert first is not None, f"no failure of proxy1's renewal reached the webhook: {client.webhook_posts()}"
        report = first["body"]
        assert (report["event"], report["cert_name"], report["host"]) == ("certificate_renewal_failed", "polls-shortlived", "proxy1"), first
        assert first["from"] == lab.proxies["proxy1"]["ansible_host"] and "certbot renew failed" in report["error"], first
        metrics = server("proxy1").check_output("cat /var/lib/prometheus/node-exporter/djangoops_certbot.prom")
        assert 'djangoops_certbot_renewal_last_run_success{cert_name="polls-shortlived"} 0.0' in metrics, metrics
        not_after = report["not_after"]
        # Under a fifth of the lifetime left (the certificate lives `validity` seconds): renew.yml warns, and
        # fails as the renewal does.
        left = int(server("proxy1").check_output(f"echo $(( $(date -d {not_after} +%s) - $(date +%s) ))"))
        time.sleep(max(0, left - 0.2 * validity + 1))
        renewed = run_playbook("playbooks/renew.yml", *chosen)
        output = renewed.stdout + renewed.stderr
        assert renewed.returncode != 0 and "the renewal job failed" in output, output
        assert re.search(r"\[WARNING\]: 127\.0\.0\.1:443 \(polls\.djangoops\.test\) serves a certificate \(serial \w+\) that"
                         r" (expires at .* of its lifetime left, below 20%|expired at)", output), output
    finally:
        for name in blocked:
            for chain in ("OUTPUT", "FORWARD"):
                server(name).run(f"iptables -D {chain} -d {lab.all_vars['lab_pebble_shortlived_address']} -j REJECT")
        client.stop_webhook()
        restored = run_playbook("playbooks/site.yml", *PROXIES_ONLY)
        assert restored.returncode == 0, restored.stdout + restored.stderr
        forget_the_lineage()
