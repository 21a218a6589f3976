# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab as the benchmarks see it, read from ``inventories/lab`` (the same files ``tests/lab/up.yml``
creates the lab from), and inventories that add app servers to it.

Address plan of the lab (``hosts.yml`` and ``group_vars/all/lab.yml``): servers take the low
host numbers of both networks (proxy1 .10, app1 .11, app2 .12, proxy2 .13), services and the
client the higher ones (PostgreSQL .20, registry .21, S3 .22, ACME DNS .30, Pebbles .31/.32,
client .40, private neighbour .50). Extra app servers continue the servers' range with the same
host number on both networks, as ``tests/lab/inventory-app3.yml`` does (app3: .14), and stop
below the first service address: app3 to app8 use .14 to .19.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import pathlib
import typing as t

import yaml

APP_GROUP = "django_app"
PROXY_GROUP = "nginx_proxy"


class LabPlanError(ValueError):
    """The lab's inventory cannot do what was asked (names the file or the limit)."""


@dataclasses.dataclass(frozen=True)
class Server:
    """A lab server as the inventory names it."""

    name: str
    public: str  # ansible_host, on the public network
    private: str  # private_address, on the private network
    public_ipv6: str | None = None  # the same networks' IPv6 addresses (the lab is dual stack)
    private_ipv6: str | None = None


@dataclasses.dataclass(frozen=True)
class Lab:
    """The lab's names, networks, servers and releases."""

    prefix: str
    domain: str
    client_address: str
    public_network: ipaddress.IPv4Network
    private_network: ipaddress.IPv4Network
    app_servers: tuple[Server, ...]
    proxies: tuple[Server, ...]
    service_addresses: tuple[str, ...]
    app_version: str
    releases: tuple[str, ...]

    def container(self, name: str) -> str:
        """The Docker container of a lab server or service (``djangoops-lab-app1``)."""
        return f"{self.prefix}-{name}"

    @property
    def client_container(self) -> str:
        return self.container("client")

    @property
    def next_release(self) -> str:
        """The release after the inventory's (the rolling deploy checks deploy it)."""
        later = [release for release in self.releases if release != self.app_version]
        if not later:
            raise LabPlanError(f"lab_app_releases names no release besides {self.app_version}")
        return later[0]

    def is_lab_address(self, address: str) -> bool:
        """Whether ``address`` is on one of the lab's own networks (load goes nowhere else)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return ip in self.public_network or ip in self.private_network


def _load_yaml(path: pathlib.Path) -> t.Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle) or {}
    except OSError as error:
        raise LabPlanError(f"cannot read the lab inventory file {path}: {error}") from error


def _group_hosts(inventory: dict[str, t.Any], group: str, path: pathlib.Path) -> tuple[Server, ...]:
    hosts = (((inventory.get("all") or {}).get("children") or {}).get(group) or {}).get("hosts") or {}
    if not hosts:
        raise LabPlanError(f"{path} has no hosts in group {group}")
    servers = []
    for name, variables in hosts.items():
        variables = variables or {}
        if "ansible_host" not in variables or "private_address" not in variables:
            raise LabPlanError(f"{path}: {name} needs ansible_host and private_address")
        servers.append(Server(name, str(variables["ansible_host"]), str(variables["private_address"]),
                              _optional(variables.get("public_ipv6")), _optional(variables.get("private_ipv6"))))
    return tuple(servers)


def _optional(value: t.Any) -> str | None:
    return None if value in (None, "") else str(value)


def _ipv6_like(template: str | None, number: int) -> str | None:
    """The IPv6 address with host number ``number`` in the lab's plan (``2001:db8:100::11`` for .11)."""
    return None if template is None else f"{template.rsplit(':', 1)[0]}:{number}"


def _plain_addresses(variables: dict[str, t.Any]) -> tuple[str, ...]:
    """Every ``lab_*_address`` that is a literal IPv4 address (templated values are skipped)."""
    found = []
    for key, value in variables.items():
        if key.startswith("lab_") and key.endswith("_address") and isinstance(value, str):
            try:
                found.append(str(ipaddress.IPv4Address(value)))
            except ValueError:
                continue
    return tuple(found)


def load_lab(inventory_dir: pathlib.Path) -> Lab:
    """Read the lab from its inventory directory (``hosts.yml``, ``group_vars/all/lab.yml``)."""
    hosts_path = inventory_dir / "hosts.yml"
    lab_path = inventory_dir / "group_vars" / "all" / "lab.yml"
    inventory = _load_yaml(hosts_path)
    variables = _load_yaml(lab_path)
    try:
        public = ipaddress.IPv4Network(variables["lab_public_network"]["subnet"])
        private = ipaddress.IPv4Network(variables["lab_private_network"]["subnet"])
        gateways = (variables["lab_public_network"]["gateway"], variables["lab_private_network"]["gateway"])
        version = str(variables["lab_app_version"])
        releases = tuple(version if "{{" in str(release) else str(release) for release in variables["lab_app_releases"])
        lab = Lab(
            prefix=variables["lab_prefix"],
            domain=variables["lab_domain"],
            client_address=variables["lab_client_address"],
            public_network=public,
            private_network=private,
            app_servers=_group_hosts(inventory, APP_GROUP, hosts_path),
            proxies=_group_hosts(inventory, PROXY_GROUP, hosts_path),
            service_addresses=_plain_addresses(variables) + tuple(str(gateway) for gateway in gateways),
            app_version=version,
            releases=releases,
        )
    except (KeyError, TypeError) as error:
        raise LabPlanError(f"{lab_path} lacks {error} (lab_prefix, lab_domain, lab_client_address, networks, releases)") from error
    return lab


def _host_number(address: str, network: ipaddress.IPv4Network) -> int:
    ip = ipaddress.IPv4Address(address)
    if ip not in network:
        raise LabPlanError(f"{address} is not on the lab network {network}")
    return int(ip) - int(network.network_address)


def _address(network: ipaddress.IPv4Network, number: int) -> str:
    return str(ipaddress.IPv4Address(int(network.network_address) + number))


def _free_host_numbers(lab: Lab) -> tuple[list[int], int, int]:
    """Host numbers free on both networks after the servers' and below the first service address:
    (free numbers, first one after the servers', first service number)."""
    servers = lab.app_servers + lab.proxies
    taken = {_host_number(server.public, lab.public_network) for server in servers}
    taken |= {_host_number(server.private, lab.private_network) for server in servers}
    services = {_host_number(address, network) for address in lab.service_addresses
                for network in (lab.public_network, lab.private_network) if ipaddress.IPv4Address(address) in network}
    highest = max(taken)
    broadcast = min(lab.public_network.num_addresses, lab.private_network.num_addresses) - 1
    ceiling = min((number for number in services if number > highest), default=broadcast)
    return [number for number in range(highest + 1, ceiling) if number not in taken | services], highest + 1, ceiling


def extra_app_servers(lab: Lab, total: int) -> list[Server]:
    """The app servers to add to the inventory's for ``total`` app servers in all.

    Names continue the inventory's (app3, app4, ...); each takes the next host number free on
    both networks after the servers', below the first service address.
    """
    existing = len(lab.app_servers)
    if total <= existing:
        return []
    free, first, ceiling = _free_host_numbers(lab)
    if total - existing > len(free):
        raise LabPlanError(
            f"the lab has room for {existing + len(free)} app servers: host numbers .{first} to .{ceiling - 1} are"
            f" the servers' free ones, .{ceiling} and up belong to the lab's services and client; asked for {total}"
        )
    names = {server.name for server in lab.app_servers + lab.proxies}
    extra: list[Server] = []
    index = existing
    for number in free[:total - existing]:
        index += 1
        while f"app{index}" in names:
            index += 1
        first = lab.app_servers[0]
        extra.append(Server(f"app{index}", _address(lab.public_network, number), _address(lab.private_network, number),
                            _ipv6_like(first.public_ipv6, number), _ipv6_like(first.private_ipv6, number)))
    return extra


def render_extra_inventory(servers: t.Sequence[Server]) -> str:
    """An inventory that adds ``servers`` to group django_app, used beside ``-i inventories/lab``."""
    hosts = {server.name: {"ansible_host": server.public, "private_address": server.private,
                           **{key: value for key, value in (("public_ipv6", server.public_ipv6), ("private_ipv6", server.private_ipv6))
                              if value is not None}}
             for server in servers}
    body = yaml.safe_dump({"all": {"children": {APP_GROUP: {"hosts": hosts}}}}, sort_keys=False, default_flow_style=False)
    return (
        "---\n# Generated by benchmarks/bench.py: extra app servers for the benchmarks, used as\n"
        "# `-i inventories/lab -i <this file>` (like tests/lab/inventory-app3.yml).\n" + body
    )


def write_extra_inventory(lab: Lab, total: int, directory: pathlib.Path) -> pathlib.Path | None:
    """Write the inventory for ``total`` app servers into ``directory``; None when the lab's suffice."""
    servers = extra_app_servers(lab, total)
    if not servers:
        return None
    path = directory / f"inventory-apps-{total}.yml"
    path.write_text(render_extra_inventory(servers), encoding="utf-8")
    return path


def app_servers(lab: Lab, total: int) -> list[Server]:
    """The first ``total`` app servers: the inventory's, then the extra ones."""
    if total < 1:
        raise LabPlanError("at least one app server is needed")
    return list(lab.app_servers[:total]) + extra_app_servers(lab, total)
