"""The app servers' published port is reachable from the proxies only: checked from the public
client, from a private neighbour that is not a proxy, and from the proxy; and still so after the
app container is recreated, the app server's Docker engine restarts and UFW reloads. Every server,
proxies too, admits SSH (from the listed sources, when set) and the web ports where it is a proxy,
nothing else."""

from __future__ import annotations

import contextlib
import json
import re
import time

import pytest
import testinfra

from conftest import open_ports, run_playbook, server


APP_PORT = 8000


def _answers(host, addresses: list[str], lab) -> dict[str, bool]:
    """Whether the app answers 200 on each private address, asked from this host all at once: a port
    the firewall drops makes its request wait out the 4 s limit, and the waits overlap."""
    requests = " ".join(
        f"(status=$(curl -sS -o /dev/null -w '%{{http_code}}' --max-time 4 -H 'Host: {lab.domain}'"
        f" http://{address}:{APP_PORT}/polls/ 2>/dev/null); echo {address} $status) &" for address in addresses)
    statuses = dict(line.split()[:2] for line in host.run(f"{requests} wait").stdout.splitlines() if len(line.split()) >= 2)
    return {address: statuses.get(address) == "200" for address in addresses}


def _check_only_proxies_reach_the_app(client, lab, *, ports: str = f"22,80,443,{APP_PORT}") -> None:
    neighbour = testinfra.get_host("docker://djangoops-lab-neighbour")
    privates = [app["private_address"] for app in lab.app_servers.values()]
    scans = open_ports(client, [app["ansible_host"] for app in lab.app_servers.values()] + [lab.proxy_public], ports)
    from_neighbour, from_proxy = _answers(neighbour, privates, lab), _answers(server("proxy1"), privates, lab)
    for name, app in lab.app_servers.items():
        assert scans[app["ansible_host"]] == [22], f"{name}: only SSH may be open to the public"
        assert not from_neighbour[app["private_address"]], f"{name}: a private neighbour reached the app"
        assert from_proxy[app["private_address"]], f"{name}: the proxy cannot reach the app"
    assert scans[lab.proxy_public] == [22, 80, 443]


def _wait_until_serving(name: str, lab) -> None:
    app = server(name)
    # The app port is published on the server's private address only.
    url = f"http://{lab.app_servers[name]['private_address']}:{APP_PORT}/polls/"
    for _attempt in range(60):
        if app.run(f"curl -sf -o /dev/null --max-time 2 {url} -H 'Host: {lab.domain}'").rc == 0:
            return
        time.sleep(1)
    pytest.fail(f"{name}: the app did not come back")


@pytest.fixture()
def app1_serving(lab):
    """Afterwards app1 serves again, converged if its container is gone (a failed check)."""
    yield
    if server("app1").run("docker inspect -f '{{.State.Running}}' polls").stdout.strip() != "true":
        converged = run_playbook("playbooks/site.yml", "--limit", "app1,proxy1,localhost")
        assert converged.returncode == 0, converged.stdout + converged.stderr
    _wait_until_serving("app1", lab)


@pytest.fixture()
def app2_firewall_as_inventory():
    """Afterwards app2's firewall is the inventory's again: one DJANGOOPS block and no extra source
    (re-applied only when a check stopped before putting it back itself)."""
    yield
    app2 = server("app2")
    blocks = app2.file("/etc/ufw/after.rules").content_string.count("# BEGIN DJANGOOPS.FLEET UFW-DOCKER")
    if blocks != 1 or "10.0.0.0/8" in app2.check_output("iptables -S DOCKER-USER"):
        restored = run_playbook("molecule/default/firewall.yml", "--limit", "app2")
        assert restored.returncode == 0, restored.stdout + restored.stderr


@pytest.mark.readonly
def test_no_app_server_answered_on_its_public_address_since_the_lab_was_created(client, lab):
    # tests/lab/up.yml starts the probe on the client once the lab exists, before its first converge:
    # every app server's public address, app port, every 100 ms.
    found = client.run("cat /tmp/djangoops-probe-lab.json")
    assert found.rc == 0, "no probe record: " + client.run("cat /tmp/djangoops-probe-lab.log").stdout
    record = json.loads(found.stdout)
    counts = record["counts"]
    print(f"probed {sorted(counts)} in {record['rounds']} rounds over {record['seconds']} s: {counts}")
    assert {f"{app['ansible_host']}:{APP_PORT}" for app in lab.app_servers.values()} <= set(counts)
    # A first converge of the lab takes minutes: thousands of rounds.
    assert record["rounds"] >= 1000, record
    assert record["answers"] == [] and all(count["answered"] == 0 for count in counts.values()), record


# A port no rule opens, with a listener on every server's host while a check scans: refused by UFW, not
# merely closed for want of a listener.
STRAY_PORT = 9099


@contextlib.contextmanager
def _stray_listeners(names: list[str]):
    for name in names:
        server(name).check_output(f"nohup python3 -m http.server {STRAY_PORT} --bind 0.0.0.0 >/dev/null 2>&1 &")
    try:
        for name in names:  # listening before the scan starts
            for _attempt in range(20):
                if server(name).run(f"timeout 1 bash -c '</dev/tcp/127.0.0.1/{STRAY_PORT}'").rc == 0:
                    break
                time.sleep(0.5)
            else:
                pytest.fail(f"{name}: the stray listener did not start")
        yield
    finally:
        for name in names:
            server(name).run(f"pkill -f 'http.server {STRAY_PORT}'")


@pytest.mark.readonly
def test_only_the_proxies_reach_the_app(client, lab):
    with _stray_listeners([*lab.app_servers, *lab.proxies]):
        _check_only_proxies_reach_the_app(client, lab, ports="1-10000")
        proxies = open_ports(client, lab.proxy_addresses, f"1-10000,{STRAY_PORT}")
        # UFW's SSH `limit` refuses a source's sixth new connection within 30 s: the client's earlier SSH
        # checks and these scans may reach it. Where SSH looked closed, it is asked again once that window passed.
        limited = [address for address, ports in proxies.items() if 22 not in ports]
        if limited:
            time.sleep(31)
            for address, ports in open_ports(client, limited, "22").items():
                proxies[address] = sorted(set(proxies[address]) | set(ports))
    assert proxies == dict.fromkeys(lab.proxy_addresses, [22, 80, 443]), proxies
    for name in lab.proxies:
        status = server(name).check_output("ufw status verbose")
        assert "Status: active" in status and "Default: deny (incoming)" in status, (name, status)
        # The proxy's own Nginx, whose connections UFW and Docker route, reaches every app server.
        for app, address in ((app, lab.app_servers[app]["private_address"]) for app in lab.app_servers):
            asked = server(name).run(f"docker exec nginx curl -sS -o /dev/null -w '%{{http_code}}' --max-time 4"
                                     f" -H 'Host: {lab.domain}' http://{address}:{APP_PORT}/polls/")
            assert asked.stdout == "200", (name, app, asked.stdout, asked.stderr)


@pytest.mark.changes_lab
def test_rules_survive_recreating_the_app_container(client, lab, app1_serving):
    server("app1").check_output("docker rm -f polls")
    converged = run_playbook("playbooks/site.yml", "--limit", "app1,proxy1,localhost")
    assert converged.returncode == 0, converged.stdout + converged.stderr
    _wait_until_serving("app1", lab)
    _check_only_proxies_reach_the_app(client, lab)


@pytest.mark.changes_lab
def test_rules_survive_restarting_docker(client, lab, app1_serving):
    app1 = server("app1")
    # As a package upgrade or an administrator restarts it (systemd stops dockerd, then starts it).
    app1.check_output("systemctl restart docker")
    for _attempt in range(60):
        time.sleep(1)
        if app1.run("docker info --format '{{.ServerVersion}}'").rc == 0:
            break
    _wait_until_serving("app1", lab)
    _check_only_proxies_reach_the_app(client, lab)


@pytest.mark.changes_lab
def test_rules_survive_ufw_reload(client, lab):
    for name in lab.app_servers:
        server(name).check_output("ufw reload")
    _check_only_proxies_reach_the_app(client, lab)
    chain = server("app1").check_output("iptables -S DOCKER-USER")
    # Each proxy allowed, then tcp and udp dropped.
    assert chain.count(f"--ctorigdstport {APP_PORT}") == len(lab.proxies) + 2, chain


@pytest.mark.readonly
def test_a_second_run_changes_nothing_on_the_app_servers(lab, second_run):
    assert second_run.returncode == 0, second_run.output[-5000:]
    assert {name: second_run.changed.get(name) for name in lab.app_servers} == dict.fromkeys(lab.app_servers, 0), second_run.changed


@pytest.mark.changes_lab
def test_state_absent_removes_the_block_and_present_restores_it(client, lab, app2_firewall_as_inventory):
    app2 = server("app2")
    removed = run_playbook("molecule/default/firewall.yml", "--limit", "app2", "-e", "ufw_docker_state=absent")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "DJANGOOPS.FLEET UFW-DOCKER" not in app2.file("/etc/ufw/after.rules").content_string
    assert "--ctorigdstport" not in app2.check_output("iptables -S DOCKER-USER")
    # Without the block, a private neighbour reaches the app; the public address still does not
    # answer, the port being published on the private address only.
    neighbour = testinfra.get_host("docker://djangoops-lab-neighbour")
    private, public = lab.app_servers["app2"]["private_address"], lab.app_servers["app2"]["ansible_host"]
    assert _answers(neighbour, [private], lab) == {private: True}
    assert open_ports(client, [public], str(APP_PORT)) == {public: []}

    # UFW active now but off at boot (a hand edit, an image's default): a reboot would open the server.
    app2.check_output("sed -i 's/^ENABLED=.*/ENABLED=no/' /etc/ufw/ufw.conf")
    restored = run_playbook("molecule/default/firewall.yml", "--limit", "app2")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert app2.file("/etc/ufw/after.rules").content_string.count("# BEGIN DJANGOOPS.FLEET UFW-DOCKER") == 1
    assert "ENABLED=yes" in app2.file("/etc/ufw/ufw.conf").content_string.splitlines()
    _check_only_proxies_reach_the_app(client, lab)


@pytest.mark.changes_lab
def test_tutorial_private_ranges_option_admits_private_neighbours(client, lab, app2_firewall_as_inventory):
    tutorial = '{"ufw_docker_extra_allowed_sources": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}'
    opened = run_playbook("molecule/default/firewall.yml", "--limit", "app2", "-e", tutorial)
    assert opened.returncode == 0, opened.stdout + opened.stderr
    neighbour = testinfra.get_host("docker://djangoops-lab-neighbour")
    private, public = lab.app_servers["app2"]["private_address"], lab.app_servers["app2"]["ansible_host"]
    assert _answers(neighbour, [private], lab) == {private: True}
    assert open_ports(client, [public], str(APP_PORT)) == {public: []}  # public still closed

    restored = run_playbook("molecule/default/firewall.yml", "--limit", "app2")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert _answers(neighbour, [private], lab) == {private: False}


def _ssh_rules(host) -> list[str]:
    status = host.check_output("ufw status")
    return sorted(set(re.findall(r"^22/tcp(?: \(v6\))?\s+(ALLOW|LIMIT)\b", status, re.M)))


def _ssh_connections_accepted(client, address: str, attempts: int = 8) -> int:
    # Bounded: 8 TCP connects to port 22, 3 s each at most.
    probe = client.run(
        f"for i in $(seq {attempts}); do timeout 3 bash -c '</dev/tcp/{address}/22' 2>/dev/null && echo accepted; done; true"
    )
    return probe.stdout.split().count("accepted")


@pytest.mark.changes_lab
def test_ssh_rule_switches_between_allow_and_limit(client, lab):
    app2 = server("app2")
    address = lab.app_servers["app2"]["ansible_host"]
    try:
        allowed = run_playbook("molecule/default/firewall.yml", "--limit", "app2", "-e", "ufw_docker_ssh_rule=allow")
        assert allowed.returncode == 0, allowed.stdout + allowed.stderr
        assert _ssh_rules(app2) == ["ALLOW"]
        assert _ssh_connections_accepted(client, address) == 8

        limited = run_playbook("molecule/default/firewall.yml", "--limit", "app2", "-e", "ufw_docker_ssh_rule=limit")
        assert limited.returncode == 0, limited.stdout + limited.stderr
        assert _ssh_rules(app2) == ["LIMIT"]
        assert _ssh_connections_accepted(client, address) < 8, "UFW's limit rule let 8 connections in a row through"
    finally:
        restored = run_playbook("molecule/default/firewall.yml", "--limit", "app2")  # the inventory's rule again
    assert restored.returncode == 0, restored.stdout + restored.stderr


@pytest.mark.changes_lab
def test_ssh_from_listed_sources_only_and_a_list_that_locks_the_run_out_is_refused_first(client, lab):
    app2 = server("app2")
    address = lab.app_servers["app2"]["ansible_host"]
    rules_before = app2.check_output("ufw status")
    try:
        # A list without this controller's address: refused before any change, naming the address to add.
        refused = run_playbook("molecule/default/firewall.yml", "--limit", "app2", "-e", '{"ufw_docker_ssh_sources": ["192.0.2.0/24"]}')
        assert refused.returncode != 0, refused.stdout
        found = re.search(r"app2: this run's SSH connection comes from (\S+), which ufw_docker_ssh_sources \['192.0.2.0/24'\]"
                          r" does not include: the run would lock itself out\. Add that address \(or its network\) to"
                          r" ufw_docker_ssh_sources; nothing was changed\.", refused.stdout)
        assert found, refused.stdout
        assert app2.check_output("ufw status") == rules_before
        controller = found.group(1)

        # The controller's address alone (allow, not limit: a refusal can then come from the source only, not from
        # UFW's count of the client's recent connections): the run keeps its connection, the public client is refused.
        listed = run_playbook("molecule/default/firewall.yml", "--limit", "app2", "-e", "ufw_docker_ssh_rule=allow",
                              "-e", json.dumps({"ufw_docker_ssh_sources": [controller]}))
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert re.findall(r"^22/tcp\s+(ALLOW|LIMIT)\s+(\S+)", app2.check_output("ufw status"), re.M) == [("ALLOW", controller)]
        assert _ssh_connections_accepted(client, address, attempts=2) == 0
    finally:
        restored = run_playbook("molecule/default/firewall.yml", "--limit", "app2")  # every source again
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert re.findall(r"^22/tcp\s+(ALLOW|LIMIT)\s+(\S+)", app2.check_output("ufw status"), re.M) == [("LIMIT", "Anywhere")]
