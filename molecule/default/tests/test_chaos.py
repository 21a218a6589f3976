"""Faults under load from the client, none of them announced to Ansible: an app server that hangs (its
processes frozen, its kernel still accepting connections), an app server's Docker engine killed, a proxy
powered off, the database restarted. Each runs under the steady load (16 requests a second over both
proxies, at least 150 in all); the site must not fail a request (the database's restart: only within its
window), and each check prints the latency percentiles it saw. Reboots are in test_reboot.py."""

from __future__ import annotations

import math
import re
import subprocess
import time
from pathlib import Path

import dns.resolver
import pytest
import yaml

from conftest import PROJECT, boot_state, container_running, docker_user_closed, server, wait_for

NGINX_DEFAULTS = PROJECT / "roles" / "nginx_proxy" / "defaults" / "main.yml"
HANG_SECONDS = 30
# The steady load's workers (conftest's start_steady_load), spread over the addresses it is given.
STEADY_WORKERS = 8
# Time the load gets before a fault, so each check compares against a steady site.
SETTLE_SECONDS = 3


def _proxy_setting(lab, name: str):
    """A nginx_proxy setting as the lab's proxies get it: the inventory's value, else the role's default."""
    if name in lab.all_vars:
        return lab.all_vars[name]
    return yaml.safe_load(Path(NGINX_DEFAULTS).read_text(encoding="utf-8"))[name]


def _seconds(nginx_time: str) -> float:
    """Seconds of an Nginx time value such as 10s, 1m or 500ms (a bare number is seconds)."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|s|m|h)?", str(nginx_time)):
        total += int(number) * units[unit or "s"]
    return total


def _report(what: str, load: dict) -> dict:
    """Print what the load saw; its counts."""
    counts = load["counts"]
    print(f"{what}: {counts.get('requests')} requests in {load['seconds']} s, {counts.get('failed', 0)} failed,"
          f" latency {load['latency']}, {len(load['slow'])} slower than 1 s; {counts}")
    return counts


def _served_again(client, lab, name: str) -> None:
    """Every proxy sends requests to app server `name` again."""
    for proxy in lab.proxy_addresses:
        wait_for(f"{name} serving through {proxy}", lambda proxy=proxy: name in client.served_by(6, proxy), seconds=120)


def _app_port(lab) -> int:
    return int(lab.all_vars.get("site_app_port", 8000))


@pytest.mark.changes_lab
def test_a_hung_app_server_costs_no_request_more_than_the_failover_time(client, lab):
    """A frozen app server (docker pause: it accepts connections and answers nothing) holds a request for the
    upstream read timeout at most; the proxies then retry it on the other server and keep the frozen one out
    of rotation, trying it with one request each fail_timeout, until it answers again."""
    hung = next(iter(lab.app_servers))
    failover = _seconds(_proxy_setting(lab, "nginx_proxy_upstream_read_timeout"))
    fail_timeout = int(_proxy_setting(lab, "nginx_proxy_upstream_fail_timeout"))
    # The client waits longer than the failover time (a browser waits minutes), so a request held by the hung
    # server and then answered by the other one counts as served, with its latency.
    client.start_steady_load(lab.proxy_addresses, timeout=failover + 10)
    time.sleep(SETTLE_SECONDS)
    began = time.time()
    server(hung).check_output("docker pause polls")
    try:
        time.sleep(HANG_SECONDS)
    finally:
        server(hung).run("docker unpause polls")
    ended = time.time()
    _served_again(client, lab, hung)
    load = client.stop_load()
    counts = _report(f"{hung} hung for {HANG_SECONDS} s (read timeout {failover:g} s, fail_timeout {fail_timeout} s)", load)
    assert counts.get("failed", 0) == 0, load["failures"]
    assert counts["requests"] >= 150, counts
    # Every request answered: the longest after the failover time plus its retry on the other server (a few
    # seconds at most while the lab's 2 cores also run the second lane).
    assert load["latency"]["max"] <= failover + 5, load["slow"]
    # The requests the hung server held: those that took the failover time (a busy lab makes others slow too,
    # but not that slow).
    slow = [start for start, seconds, _served, _proxy in load["slow"] if seconds >= failover - 0.5]
    # Out of rotation once the first requests timed out: later, each proxy tries the hung server with one
    # request each fail_timeout (and each of those waits the failover time).
    detected = began + failover + 2
    after_detection = [start for start in slow if detected < start < ended]
    probes = len(lab.proxies) * (math.ceil((ended - detected) / fail_timeout) + 1)
    print(f"requests held by the hung server: {len(slow)}, {len(after_detection)} of them started after {failover + 2:g} s of the hang"
          f" (at most {probes} probes allowed)")
    assert slow, "no request waited for the hung server: the fault did not happen"
    assert len(after_detection) <= probes, load["slow"]
    assert not [start for start in slow if start < began or start > ended + 1], load["slow"]


@pytest.mark.changes_lab
def test_an_app_servers_docker_engine_killed_and_restarted_by_systemd(client, lab):
    """dockerd killed with SIGKILL: the app container keeps running and serving (site.yml set the engine's
    live-restore; without it Debian's Docker 20.10 left the container exited), systemd starts dockerd
    again, which takes the container back; the firewall stays closed."""
    victim = list(lab.app_servers)[-1]
    host = server(victim)
    assert '"live-restore": true' in host.file("/etc/docker/daemon.json").content_string
    started = host.check_output("docker inspect --format '{{.State.StartedAt}}' polls")
    client.start_steady_load(lab.proxy_addresses)
    time.sleep(SETTLE_SECONDS)
    host.check_output("pkill -KILL -x dockerd")
    time.sleep(10)  # the load goes on while systemd waits to start dockerd again (RestartSec) and it starts
    wait_for(f"dockerd started again by systemd on {victim}",
             lambda: host.run("docker info --format '{{.ServerVersion}}'").rc == 0, seconds=120)
    wait_for(f"the app container running and healthy on {victim}", lambda: container_running(victim, "polls"), seconds=120)
    _served_again(client, lab, victim)
    time.sleep(SETTLE_SECONDS)
    load = client.stop_load()
    counts = _report(f"{victim}'s dockerd killed", load)
    restarts = host.run("systemctl show docker --property NRestarts").stdout.strip()
    assert restarts != "NRestarts=0", restarts
    assert host.check_output("docker inspect --format '{{.State.StartedAt}}' polls") == started  # never stopped
    assert counts.get("failed", 0) == 0, load["failures"]
    assert counts["requests"] >= 150, counts
    assert docker_user_closed(victim, _app_port(lab)) == ""


@pytest.mark.changes_lab
def test_a_proxy_powered_off_its_clients_go_to_the_other_address(client, lab):
    """The site's name lists every proxy. With one powered off (a clean shutdown, then nothing answers at its
    address), the clients of the other proxy keep being served, and the clients of the stopped one that fall
    back to the name's other address, as browsers do, are served again within the connect timeout. It boots
    again and serves."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [lab.all_vars["lab_acme_dns_address"]]
    addresses = sorted(answer.to_text() for answer in resolver.resolve(lab.domain, "A"))
    assert addresses == sorted(lab.proxy_addresses)
    # Not the first proxy: the fleet lock and the certificate issuer live there.
    name = list(lab.proxies)[-1]
    stopping = lab.proxies[name]["ansible_host"]
    # Browsers give up on an address that does not answer after a few seconds.
    client.start_steady_load(addresses, fallback=True, connect_timeout=3)
    time.sleep(SETTLE_SECONDS)
    stopped = time.time()
    subprocess.run(["docker", "stop", "-t", "60", f"djangoops-lab-{name}"], check=True, stdout=subprocess.DEVNULL)
    down = time.time()
    time.sleep(20)  # powered off, while the load goes on
    try:
        load = client.stop_load()
    finally:
        subprocess.run(["docker", "start", f"djangoops-lab-{name}"], check=True, stdout=subprocess.DEVNULL)
    counts = _report(f"{name} shut down in {down - stopped:.1f} s, then off for 20 s; clients falling back among {addresses}", load)
    assert boot_state(name) == "running"
    wait_for(f"nginx running on {name}", lambda: container_running(name, "nginx"), seconds=120)
    wait_for(f"the site served through {name}", lambda: client.served_by(4, stopping), seconds=120)
    assert counts["requests"] >= 150, counts
    assert counts.get("fell back", 0) > 0, counts  # the workers on that proxy did move
    # The other proxy's clients: not one failure. The stopped proxy's: only requests in progress while its
    # server shut down (its Nginx stopped by the shutdown, under the engine's live-restore), at most one per
    # client on it; after that they are all served through the other address.
    on_stopped = [failure for failure in load["failures"] if failure.split()[1] == stopping]
    assert len(on_stopped) == counts.get("failed", 0), load["failures"]
    assert len(on_stopped) <= STEADY_WORKERS // len(addresses), load["failures"]
    # Each ended while the server shut down.
    assert all(stopped - 0.5 <= when <= down + 1 for when in load["failure_times"]), (stopped, down, load["failures"])


@pytest.mark.changes_lab
@pytest.mark.after_lane
def test_postgresql_restarted_errors_stay_in_its_window(client, lab):
    """The database server restarted (its container, as a reboot or an upgrade does): requests that need it
    fail only while it is down; the app reconnects by itself, with no deploy."""
    container = "djangoops-lab-postgres"
    client.start_steady_load(lab.proxy_addresses)
    time.sleep(SETTLE_SECONDS)
    began = time.time()
    subprocess.run(["docker", "restart", "-t", "10", container], check=True, stdout=subprocess.DEVNULL)

    def accepting() -> bool:
        ready = subprocess.run(["docker", "exec", container, "pg_isready", "-q", "-h", "127.0.0.1"], check=False)
        return ready.returncode == 0

    wait_for("PostgreSQL accepting connections", accepting, seconds=120)
    ready = time.time()
    time.sleep(15)  # the site after the window
    load = client.stop_load()
    counts = _report(f"PostgreSQL restarted, down {ready - began:.1f} s", load)
    assert counts["requests"] >= 150, counts
    # When each failed request ended: while PostgreSQL was down (a request that began before the restart fails
    # once it asks for a connection), none after.
    outside = [round(when - began, 3) for when in load["failure_times"] if not began - 0.5 <= when <= ready + 1]
    print(f"failures: {len(load['failure_times'])}, all within the window: {not outside}")
    assert outside == [], (outside, load["failures"])
    # Served again after the window, by every app server.
    assert set(client.served_by(8)) == set(lab.app_servers)
