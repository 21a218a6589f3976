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

from conftest import boot_state, container_running, docker_user_closed, server, wait_for

RENEW_TIMER = "djangoops-certbot-renew.timer"


def _reboot(names: list[str]) -> float:
    """Restart the servers' containers at once (a clean shutdown gets 60 s, as the lab's servers are
    given); the seconds it took."""
    started = time.monotonic()
    restarts = [subprocess.Popen(["docker", "restart", "-t", "60", f"djangoops-lab-{name}"], stdout=subprocess.DEVNULL)
                for name in names]
    assert [restart.wait(timeout=180) for restart in restarts] == [0] * len(names), names
    return time.monotonic() - started


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
            states = {name: boot_state(name) for name in (app_server, proxy)}
            wait_for(f"the app container running and healthy on {app_server}", lambda: container_running(app_server, "polls"))
            wait_for(f"nginx running on {proxy}", lambda: container_running(proxy, "nginx"))
            # Back in the rotation of the proxy that stayed up, and serving through the rebooted proxy.
            wait_for(f"{app_server} serving again", lambda: app_server in client.served_by(6, through[0]))
            served = wait_for(f"the site served through {proxy}",
                              lambda: client.served_by(6, lab.proxies[proxy]["ansible_host"]))
            load = client.stop_load()
            counts = load["counts"]
            print(f"rebooted {app_server} and {proxy} in {took:.1f} s under load through {through}: "
                  f"{counts.get('requests')} requests in {load['seconds']} s, {counts.get('failed', 0)} failed,"
                  f" latency {load['latency']}; {counts}")
            assert states == {app_server: "running", proxy: "running"}, states
            assert counts.get("failed", 0) == 0, load["failures"]
            assert counts["requests"] >= 150, counts
            assert set(served) <= set(lab.app_servers), served
            assert docker_user_closed(app_server, port) == ""
            if proxy == issuer:
                timer = server(proxy).run(f"systemctl is-enabled {RENEW_TIMER}; systemctl is-active {RENEW_TIMER}")
                assert timer.stdout.split() == ["enabled", "active"], timer.stdout + timer.stderr
    finally:
        probe = client.stop_probe()
    counts = probe["counts"]
    print(f"probed the app servers' public addresses, port {port}, in {probe['rounds']} rounds over {probe['seconds']} s: {counts}")
    assert probe["answers"] == [], probe["answers"]
    assert all(count["answered"] == 0 for count in counts.values()), counts
