"""Dual stack: the lab's networks carry IPv6 as well, the site's name has A and AAAA records (the ACME
preflight of the converge accepted both: each proxy is known by its two public addresses), the client
reaches the site over both, and the firewall holds over IPv6 as over IPv4 (the scans of test_firewall,
repeated on the IPv6 addresses)."""

from __future__ import annotations

import dns.resolver
import pytest
import testinfra

from conftest import open_ports


pytestmark = pytest.mark.readonly

APP_PORT = 8000


def _records(lab, kind: str) -> set[str]:
    """The site name's records of this kind, asked of the DNS server the CA and the preflight ask."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [lab.all_vars["lab_acme_dns_address"]]
    resolver.port = 53
    return {answer.to_text() for answer in resolver.resolve(lab.domain, kind)}


def test_the_site_name_has_an_a_and_an_aaaa_record_per_proxy(lab):
    assert _records(lab, "A") == {proxy["ansible_host"] for proxy in lab.proxies.values()}
    assert _records(lab, "AAAA") == {proxy["public_ipv6"] for proxy in lab.proxies.values()}


def test_every_proxy_serves_the_site_over_ipv4_and_ipv6(client, lab):
    for name, proxy in lab.proxies.items():
        for address in (proxy["ansible_host"], f"[{proxy['public_ipv6']}]"):
            # The production CA's certificate, verified, over HTTP/2, from the app servers.
            out = client.run(
                f"curl -sS -o /dev/null -w '%{{http_code}} %{{http_version}} %{{remote_ip}}' --max-time 10 --http2"
                f" --cacert /lab/pki/pebble-production-root.pem --resolve {lab.domain}:443:{address}"
                f" https://{lab.domain}/polls/"
            )
            assert out.rc == 0, (name, address, out.stderr)
            status, version, remote = out.stdout.split()
            assert (status, version, remote) == ("200", "2", address.strip("[]")), (name, address, out.stdout)


def test_over_ipv6_app_servers_show_only_ssh_and_proxies_ssh_and_the_web(client, lab):
    apps = [app["public_ipv6"] for app in lab.app_servers.values()]
    proxies = [proxy["public_ipv6"] for proxy in lab.proxies.values()]
    public = open_ports(client.host, apps + proxies, "1-10000")
    neighbour = testinfra.get_host("docker://djangoops-lab-neighbour")
    private = open_ports(neighbour, [app["private_ipv6"] for app in lab.app_servers.values()], f"22,80,443,{APP_PORT}")
    for name, app in lab.app_servers.items():
        assert public[app["public_ipv6"]] == [22], f"{name}: only SSH may be open to the public over IPv6"
        assert private[app["private_ipv6"]] == [22], f"{name}: a private neighbour reached more than SSH over IPv6"
    for name, proxy in lab.proxies.items():
        assert public[proxy["public_ipv6"]] == [22, 80, 443], f"{name} over IPv6"
