"""Reboots under load: each lab server boots with systemd (tests/lab/images/server), and a `docker
restart` of its container is a reboot (systemd shuts the server down, then boots it). One app server
and one proxy reboot together while the client requests the site through the proxy that stays up, then
the other two: no request may fail, the rebooted servers' containers come back without Ansible, their
firewall is closed before the app port answers (the client probes it every 100 ms through shutdown
and boot), and the renewal timer is active again on the proxy that renews."""

from __future__ import annotations

import subprocess
import time

import pytest

from conftest import server

RENEW_TIMER = "djangoops-certbot-renew.timer"


def _reboot(names: list[str]) -> float:
    """Restart the servers' containers at once (a clean shutdown gets 60 s, as the lab's servers are
    given); the seconds it took."""
    started = time.monotonic()
    restarts = [subprocess.Popen(["docker", "restart", "-t", "60", f"djangoops-lab-{name}"], stdout=subprocess.DEVNULL)
                for name in names]
    assert [restart.wait(timeout=180) for restart in restarts] == [0] * len(names), names
    return time.monotonic() - started


def _wait_for(what: str, check, seconds: int = 90):
    """check() until it returns something true, at most `seconds`; that value."""
    deadline = time.monotonic() + seconds
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(1)
    assert value, f"not within {seconds} s: {what}"
    return value


def _boot_state(name: str) -> str:
    """systemd's state once the boot finished: `running` when no unit failed (else the failed ones).
    Right after the restart, systemd may not answer yet (no bus): asked again until it does."""
    host = server(name)

    def state_after_boot() -> str:
        return host.run("timeout 120 systemctl is-system-running --wait").stdout.strip()

    state = _wait_for(f"systemd answering on {name}", state_after_boot, seconds=120)
    return state if state == "running" else f"{state}: {host.run('systemctl --failed --no-legend').stdout}"


def _container_running(name: str, container: str) -> bool:
    out = server(name).run("docker inspect --format '{{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' %s",
                           container)
    return out.rc == 0 and out.stdout.split()[:1] == ["true"] and "starting" not in out.stdout and "unhealthy" not in out.stdout


def _docker_user_closed(name: str, port: int) -> str:
    """'' when UFW is active and Docker's FORWARD path passes DOCKER-USER, which drops new connections
    to the published app port; else what is wrong."""
    host = server(name)
    forward = host.run("iptables -w -S FORWARD").stdout.splitlines()
    rules = host.run("iptables -w -S DOCKER-USER").stdout
    problems = []
    if "Status: active" not in host.run("ufw status").stdout:
        problems.append("UFW is not active")
    if "-A FORWARD -j DOCKER-USER" not in forward[:3]:
        problems.append(f"FORWARD does not start with DOCKER-USER: {forward[:3]}")
    if f"--ctorigdstport {port} -j DROP" not in rules:
        problems.append(f"DOCKER-USER does not drop port {port}: {rules}")
    return "; ".join(problems)


@pytest.mark.changes_lab
@pytest.mark.mostly_waits
def test_each_server_reboots_under_load_and_comes_back_closed(client, lab):
    port = int(lab.all_vars.get("site_app_port", 8000))
    issuer = next(iter(lab.proxies))
    client.start_probe([f"{values['ansible_host']}:{port}" for values in lab.app_servers.values()])
    try:
        for app_server, proxy in zip(lab.app_servers, lab.proxies):
            through = [address for name, address in zip(lab.proxies, lab.proxy_addresses) if name != proxy]
            client.start_steady_load(through)
            took = _reboot([app_server, proxy])
            states = {name: _boot_state(name) for name in (app_server, proxy)}
            _wait_for(f"the app container running and healthy on {app_server}", lambda: _container_running(app_server, "polls"))
            _wait_for(f"nginx running on {proxy}", lambda: _container_running(proxy, "nginx"))
            # Back in the rotation of the proxy that stayed up, and serving through the rebooted proxy.
            _wait_for(f"{app_server} serving again", lambda: app_server in client.served_by(6, through[0]))
            served = _wait_for(f"the site served through {proxy}",
                               lambda: client.served_by(6, lab.proxies[proxy]["ansible_host"]))
            load = client.stop_load()
            counts = load["counts"]
            print(f"rebooted {app_server} and {proxy} in {took:.1f} s under load through {through}: "
                  f"{counts.get('requests')} requests in {load['seconds']} s, {counts.get('failed', 0)} failed; {counts}")
            assert states == {app_server: "running", proxy: "running"}, states
            assert counts.get("failed", 0) == 0, load["failures"]
            assert counts["requests"] >= 100, counts
            assert set(served) <= set(lab.app_servers), served
            assert _docker_user_closed(app_server, port) == ""
            if proxy == issuer:
                timer = server(proxy).run(f"systemctl is-enabled {RENEW_TIMER}; systemctl is-active {RENEW_TIMER}")
                assert timer.stdout.split() == ["enabled", "active"], timer.stdout + timer.stderr
    finally:
        probe = client.stop_probe()
    counts = probe["counts"]
    print(f"probed the app servers' public addresses, port {port}, in {probe['rounds']} rounds over {probe['seconds']} s: {counts}")
    assert probe["answers"] == [], probe["answers"]
    assert all(count["answered"] == 0 for count in counts.values()), counts
