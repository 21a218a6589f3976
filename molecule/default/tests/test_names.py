"""Hosts given by name. The lab's DNS server (each server's resolv.conf, as a cloud's DHCP gives it)
knows a private zone, <host>.djangoops.internal, that the controller cannot resolve, and a public one,
<host>.djangoops.test. The lab inventory gives the roles private names (site_private_address_var:
private_name): Nginx resolves its upstream servers and the ACME issuer, and the app servers resolve the
proxies and their own published address wherever a rule needs an address. Here an inventory whose
ansible_host are names as well converges, through the ACME preflight, and serves."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import changed_per_host, issued_serials, run_playbook, same_serial, server

APP_PORT = 8000


def _lab_servers(lab) -> dict[str, dict]:
    return {**lab.app_servers, **lab.proxies}


@pytest.mark.readonly
def test_servers_and_their_containers_resolve_the_lab_names(lab):
    dns = lab.all_vars["lab_dns_private_address"]
    for name in _lab_servers(lab):
        host = server(name)
        assert re.search(rf"(?m)^nameserver {re.escape(dns)}$", host.file("/etc/resolv.conf").content_string), name
        for other, values in _lab_servers(lab).items():
            resolved = host.check_output("getent ahostsv4 %s | awk '{print $1}' | sort -u", lab.private_name(other))
            assert resolved == values["private_address"], (name, other, resolved)
    # Docker gives its containers the server's DNS server (never a public fallback such as 8.8.8.8), and
    # Nginx resolves the app servers' private names through it as the server does.
    for name, container in [(name, "nginx") for name in lab.proxies] + [(name, "polls") for name in lab.app_servers]:
        resolv = server(name).check_output(f"docker exec {container} cat /etc/resolv.conf")
        assert re.findall(r"(?m)^nameserver (\S+)", resolv) == [dns], (name, container, resolv)
    for name in lab.proxies:
        for app, values in lab.app_servers.items():
            answer = server(name).check_output(f"docker exec nginx getent ahostsv4 {lab.private_name(app)}")
            assert answer.split()[0] == values["private_address"], (name, app, answer)


@pytest.mark.readonly
def test_names_become_addresses_where_rules_need_them(lab):
    proxies = [proxy["private_address"] for proxy in lab.proxies.values()]
    for name, app in lab.app_servers.items():
        host = server(name)
        # Gunicorn trusts the proxies' addresses, the firewall lets in each of them and no one else,
        # and the app is published on the address the server's own name resolves to.
        env = host.check_output("grep ^FORWARDED_ALLOW_IPS= /etc/djangoops/polls/env")
        assert env == "FORWARDED_ALLOW_IPS=" + ",".join(proxies), (name, env)
        rules = host.check_output("iptables -S DOCKER-USER")
        allowed = re.findall(r"-s (\S+)/32 .*--ctorigdstport %d -j RETURN" % APP_PORT, rules)
        assert sorted(allowed) == sorted(proxies), (name, rules)
        assert host.check_output(f"docker port polls {APP_PORT}/tcp") == f"{app['private_address']}:{APP_PORT}", name


@pytest.mark.changes_lab
def test_an_inventory_of_host_names_converges_through_the_acme_preflight_and_serves(lab, client, tmp_path):
    """Every ansible_host a public name the controller resolves through the lab's DNS server (its own
    resolv.conf for this run): SSH reaches the servers by name, the ACME preflight resolves the proxies'
    names to the addresses the site's A and AAAA records point at, a new certificate is issued and served,
    and the app servers, the same machines at the same addresses, see no change."""
    zone = lab.all_vars["lab_public_zone"]
    names = tmp_path / "names.yml"
    names.write_text(yaml.safe_dump({"all": {"hosts": {name: {"ansible_host": f"{name}.{zone}"} for name in _lab_servers(lab)}}}))
    resolv_conf = tmp_path / "resolv.conf"
    resolv_conf.write_text(f"nameserver {lab.all_vars['lab_dns_address']}\n")
    issued_before = issued_serials("production")

    run = run_playbook("playbooks/site.yml", "-e", "certbot_force=true", inventories=("inventories/lab", str(names)),
                       resolv_conf=resolv_conf)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    # The preflight knew the proxies by name and resolved them on the controller before asking the CA.
    resolved = re.search(r"TASK \[djangoops\.fleet\.certbot : Resolve the proxies given by host name, as the controller does\]"
                         r"[^\n]*\n(ok|skipping): \[(\S+)(?: -> localhost)?\]", output)
    assert resolved and resolved.group(1) == "ok", output
    assert "ACME preflight failed" not in output
    changed = changed_per_host(output)
    assert all(changed[name] == 0 for name in lab.app_servers), changed

    issued = issued_serials("production")
    assert len(issued) == len(issued_before) + 1, issued
    for address in lab.proxy_addresses:
        assert same_serial(client.served_serial(address), issued[-1]), address
        # Served through each proxy by app servers it reached by their private names.
        served_by = client.served_by(4, proxy=address)
        assert len(served_by) == 4 and set(served_by) <= set(lab.app_servers), (address, served_by)
