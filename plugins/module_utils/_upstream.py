# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Turn inventory groups into an nginx ``upstream`` block.

Pure logic for the ``djangoops.fleet.nginx_upstream`` action: it takes plain values
(``groups``, ``hostvars`` and options), never an ``AnsibleModule`` or a task, so it can be
tested on a real inventory without running a play.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import typing as t

HEADER = "# Managed by Ansible (djangoops.fleet.nginx_upstream): do not edit."

# RFC 1123 host name label; underscores are not allowed because resolvers may reject them.
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
# nginx reads the upstream name as a bare token: keep it to characters that need no quoting.
_UPSTREAM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
# Characters an inventory host name must not hold: each server line ends with "# HOST", which
# set_down reads back as the first word after the '#'. Whitespace would cut the name short, another
# '#' would start the name elsewhere, and ';' ends an nginx directive wherever a comment is lost.
_HOST_NAME_FORBIDDEN = re.compile(r"[\s#;]")


class UpstreamError(Exception):
    """Bad input for the upstream block; the message names the culprit and the fix."""


@dataclasses.dataclass(frozen=True)
class Server:
    """One ``server`` line of an nginx upstream block."""

    host: str
    address: str
    port: int
    weight: int = 1
    down: bool = False
    backup: bool = False
    max_fails: int = 3
    fail_timeout: int = 10

    @property
    def endpoint(self) -> str:
        """``ADDRESS:PORT`` as nginx wants it; IPv6 addresses are bracketed."""
        if ":" in self.address:
            return "[%s]:%d" % (self.address, self.port)
        return "%s:%d" % (self.address, self.port)

    def to_dict(self) -> dict[str, t.Any]:
        """Plain values for the task result."""
        return dataclasses.asdict(self)


def argument_spec() -> dict[str, t.Any]:
    """Return the options of ``djangoops.fleet.nginx_upstream``.

    The module file (for validate-modules and ansible-doc) and the action plugin (which does the
    work) both build their spec here, so the two cannot drift apart.
    """
    return dict(
        name=dict(type="str", default="django"),
        groups=dict(type="list", elements="str", default=["django_app"]),
        port=dict(type="int", default=8000),
        address_var=dict(type="str", default="private_address"),
        weight_var=dict(type="str", default="nginx_upstream_weight"),
        drain=dict(type="list", elements="str", default=[]),
        backup=dict(type="list", elements="str", default=[]),
        max_fails=dict(type="int", default=3),
        fail_timeout=dict(type="int", default=10),
        keepalive=dict(type="int", default=32),
        dest=dict(type="path", required=True),
        mode=dict(type="raw", default="0644"),
        owner=dict(type="str"),
        group=dict(type="str"),
        backup_file=dict(type="bool", default=False),
    )


def check_port(port: t.Any) -> int:
    """Return ``port`` if it is a TCP port number, else raise."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise UpstreamError("port %r is out of range: set port to a number from 1 to 65535" % (port,))
    return port


def check_counter(option: str, value: t.Any) -> int:
    """Return ``value`` if it is a non-negative integer, else raise naming ``option``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UpstreamError("%s must be a whole number of 0 or more, got %r" % (option, value))
    return value


def check_upstream_name(name: t.Any) -> str:
    """Return ``name`` if nginx can read it as an upstream name, else raise."""
    if not isinstance(name, str) or not _UPSTREAM_NAME.match(name):
        raise UpstreamError(
            "upstream name %r is not usable by nginx: use letters, digits, '_', '.' and '-' only" % (name,)
        )
    return name


def check_host_name(host: str) -> str:
    """Return the inventory name ``host`` if a server line can name it in its trailing comment."""
    bad = _HOST_NAME_FORBIDDEN.search(host)
    if bad is None:
        return host
    what = "whitespace" if bad.group().isspace() else "'%s'" % bad.group()
    raise UpstreamError(
        "inventory host %r has %s in its name: each upstream server line names its host in a trailing"
        " comment that rolling deploys drain it by, which cannot hold whitespace, '#' or ';'. Rename the host"
        " in the inventory (its address can stay in ansible_host or the address variable)" % (host, what)
    )


def is_hostname(value: str) -> bool:
    """Tell whether ``value`` is an RFC 1123 host name (not a malformed IPv4 address)."""
    if len(value) > 253:
        return False
    labels = value.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return False
    # An all-digit last label means someone meant an IPv4 address (e.g. 10.0.0.300).
    return not labels[-1].isdigit()


def normalize_address(value: t.Any) -> str | None:
    """Return the canonical spelling of an IP address or host name, or None if it is neither."""
    if not isinstance(value, str):
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return value.lower() if is_hostname(value) else None
    # nginx cannot use an IPv6 zone index (fe80::1%eth0) in an upstream server.
    if getattr(address, "scope_id", None):
        return None
    return str(address)


def _is_set(value: t.Any) -> bool:
    return value is not None and value != ""


def _host_vars(hostvars: t.Mapping[str, t.Mapping[str, t.Any]], host: str) -> t.Mapping[str, t.Any]:
    if host in hostvars:
        return hostvars[host]
    return {}


def host_address(host: str, host_vars: t.Mapping[str, t.Any], *, address_var: str) -> str:
    """Return the address of ``host``: ``address_var`` first, then ``ansible_host``."""
    for var in (address_var, "ansible_host"):
        value = host_vars.get(var)
        if not _is_set(value):
            continue
        address = normalize_address(value)
        if address is None:
            raise UpstreamError(
                "host %r: %s=%r is not a valid IPv4/IPv6 address or host name: fix %s in its inventory"
                % (host, var, value, var)
            )
        return address
    raise UpstreamError(
        "host %r has no address: set %s (or ansible_host) for it in the inventory" % (host, address_var)
    )


def host_weight(host: str, host_vars: t.Mapping[str, t.Any], *, weight_var: str) -> int:
    """Return the weight of ``host`` from ``weight_var`` (1 when unset)."""
    value = host_vars.get(weight_var)
    if not _is_set(value):
        return 1
    # INI inventories and extra vars can give "3" for 3: accept decimal digits too.
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UpstreamError(
            "host %r: %s=%r is not a positive integer: set %s to 1 or more" % (host, weight_var, value, weight_var)
        )
    return value


def select_hosts(groups: t.Mapping[str, t.Sequence[str]], group_names: t.Sequence[str]) -> list[str]:
    """Return the sorted hosts of ``group_names``; each host once even if it is in several groups."""
    if not group_names:
        raise UpstreamError("no inventory group given: set groups to the groups of the app servers, e.g. [django_app]")
    hosts: set[str] = set()
    for group in group_names:
        if group not in groups:
            raise UpstreamError("group %r is not in the inventory: add it or fix the groups option" % (group,))
        if not groups[group]:
            raise UpstreamError("group %r has no hosts: add the app servers to it or drop it from groups" % (group,))
        hosts.update(groups[group])
    return sorted(hosts)


def check_flagged(hosts: t.Sequence[str], group_names: t.Sequence[str], *, drain: t.Sequence[str],
                  backup: t.Sequence[str]) -> None:
    """Raise unless every drained or backup host is one of ``hosts`` and none is both."""
    known = set(hosts)
    for option, flagged in (("drain", drain), ("backup", backup)):
        for host in flagged:
            if host not in known:
                raise UpstreamError(
                    "host %r is listed in %s but is not in the groups %s: remove it from %s or add it to a group"
                    % (host, option, ", ".join(group_names), option)
                )
    both = sorted(set(drain) & set(backup))
    if both:
        raise UpstreamError("host %r is in both drain and backup: keep it in one of them" % (both[0],))


def check_unique_endpoints(servers: t.Sequence[Server], *, address_var: str) -> None:
    """Raise if two hosts would send nginx to the same address and port."""
    seen: dict[str, str] = {}
    for server in servers:
        other = seen.setdefault(server.endpoint, server.host)
        if other != server.host:
            raise UpstreamError(
                "hosts %r and %r both resolve to %s: give each host its own %s (or ansible_host)"
                % (other, server.host, server.endpoint, address_var)
            )


def check_primary_left(servers: t.Sequence[Server]) -> None:
    """Raise unless at least one server takes traffic in normal operation."""
    if all(server.down for server in servers):
        raise UpstreamError(
            "every host (%s) is drained: nginx would have no server; remove at least one host from drain"
            % ", ".join(server.host for server in servers)
        )
    if all(server.down or server.backup for server in servers):
        raise UpstreamError(
            "no primary server remains: %s are all drained or backup; remove a host from drain or backup"
            % ", ".join(server.host for server in servers)
        )


def build_servers(
    groups: t.Mapping[str, t.Sequence[str]],
    hostvars: t.Mapping[str, t.Mapping[str, t.Any]],
    *,
    group_names: t.Sequence[str],
    port: int = 8000,
    address_var: str = "private_address",
    weight_var: str = "nginx_upstream_weight",
    drain: t.Sequence[str] = (),
    backup: t.Sequence[str] = (),
    max_fails: int = 3,
    fail_timeout: int = 10,
) -> list[Server]:
    """Return the servers of ``group_names``, sorted by host name, each host once.

    ``groups`` and ``hostvars`` are Ansible's magic variables of the same names; ``hostvars``
    values are read with ``[]``/``get`` only, so a lazily templating mapping works.
    """
    check_port(port)
    check_counter("max_fails", max_fails)
    check_counter("fail_timeout", fail_timeout)
    hosts = [check_host_name(host) for host in select_hosts(groups, group_names)]
    check_flagged(hosts, group_names, drain=drain, backup=backup)
    servers = []
    for host in hosts:
        host_vars = _host_vars(hostvars, host)
        servers.append(Server(
            host=host,
            address=host_address(host, host_vars, address_var=address_var),
            port=port,
            weight=host_weight(host, host_vars, weight_var=weight_var),
            down=host in drain,
            backup=host in backup,
            max_fails=max_fails,
            fail_timeout=fail_timeout,
        ))
    check_unique_endpoints(servers, address_var=address_var)
    check_primary_left(servers)
    return servers


def render_server(server: Server) -> str:
    """Return one ``server ...;`` line, without indentation, ending with the inventory host's name
    as a comment: rolling deploys drain servers by host name (see ``set_down``)."""
    words = ["server", server.endpoint]
    if server.weight != 1:
        words.append("weight=%d" % server.weight)
    words.append("max_fails=%d" % server.max_fails)
    words.append("fail_timeout=%ds" % server.fail_timeout)
    if server.backup:
        words.append("backup")
    if server.down:
        words.append("down")
    return " ".join(words) + ";  # " + server.host


def render_upstream(name: str, servers: t.Sequence[Server], *, keepalive: int = 32) -> str:
    """Return the text of the ``upstream NAME { ... }`` block, ending with a newline."""
    check_upstream_name(name)
    check_counter("keepalive", keepalive)
    if not servers:
        raise UpstreamError("upstream %r has no server: give it at least one host" % (name,))
    # A shared zone: every Nginx worker process sees the same failure counts, so a server that failed
    # max_fails times in one worker is out of rotation for all of them (and probed once, not per worker).
    lines = [HEADER, "upstream %s {" % name, "    zone upstream_%s 64k;" % name]
    lines.extend("    " + render_server(server) for server in servers)
    if keepalive > 0:
        lines.append("    keepalive %d;" % keepalive)
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Draining servers in a rendered upstream (rolling deploys)

_SERVER_LINE = re.compile(r"^(?P<indent>\s*)server\s+(?P<endpoint>\S+)(?P<flags>(?:\s+[^\s;]+)*)\s*;(?P<rest>.*)$")
_HOST_COMMENT = re.compile(r"#\s*(?P<host>\S+)")


@dataclasses.dataclass(frozen=True)
class DrainResult:
    """What ``set_down`` did: the new text, the hosts whose line changed, the hosts not in the
    upstream, and whether it refused to drain because no server would be left (``if_none_left``)."""

    text: str
    changed: list[str]
    missing: list[str]
    none_left: bool = False


def with_port(endpoint: str, port: int) -> str:
    """``endpoint`` (``address:port``, ``[v6]:port`` or a bare address) sent to ``port`` instead."""
    address = endpoint
    if endpoint.startswith("["):
        address = endpoint[: endpoint.index("]") + 1]
    elif endpoint.count(":") == 1:
        address = endpoint.split(":", 1)[0]
    return "%s:%d" % (address, check_port(port))


def set_down(text: str, hosts: t.Collection[str], *, down: bool, if_none_left: str = "fail",
             port: int | None = None) -> DrainResult:
    """Mark the ``server`` lines of the inventory ``hosts`` down (or up) in an upstream block.

    Lines are found by the host name ``render_server`` writes after them, not by address: the
    proxies may reach app servers at other addresses or ports than the app servers know of
    themselves. A host with no line is one this proxy sends no traffic to (a new app server).
    Draining that would leave every non-backup server down, which would make Nginx answer 502 to
    everyone, fails, or with ``if_none_left="skip"`` changes nothing and says so.

    With ``port``, the hosts' lines also send to that port of the same address: a rollout with no
    other server to take the traffic switches them to a standby container and back.
    """
    wanted = set(hosts)
    found: set[str] = set()
    changed: list[str] = []
    lines = []
    primaries_up = 0
    servers = named = 0
    for line in text.splitlines():
        match = _SERVER_LINE.match(line)
        if not match:
            lines.append(line)
            continue
        servers += 1
        comment = _HOST_COMMENT.search(match.group("rest"))
        host = comment.group("host") if comment else None
        named += host is not None
        flags = match.group("flags").split()
        if host in wanted:
            found.add(host)
            new_flags = [flag for flag in flags if flag != "down"] + (["down"] if down else [])
            endpoint = match.group("endpoint") if port is None else with_port(match.group("endpoint"), port)
            if new_flags != flags or endpoint != match.group("endpoint"):
                changed.append(host)
            flags = new_flags
            line = "%sserver %s%s;%s" % (match.group("indent"), endpoint, "".join(" " + f for f in flags), match.group("rest"))
        if "down" not in flags and "backup" not in flags:
            primaries_up += 1
        lines.append(line)
    if servers and not named:
        raise UpstreamError(
            "no server line names its inventory host: the file was not rendered by this version of"
            " djangoops.fleet.nginx_upstream; run the nginx_proxy role (playbooks/site.yml) before deploying"
        )
    if down and found and primaries_up == 0:
        if if_none_left == "skip":
            return DrainResult(text, [], sorted(wanted - found), none_left=True)
        raise UpstreamError(
            "draining %s would leave no server taking traffic; drain fewer servers at a time"
            % ", ".join(sorted(found))
        )
    new_text = "\n".join(lines) + ("\n" if text.endswith("\n") else "")
    return DrainResult(new_text, changed, sorted(wanted - found))


def reload_argv(docker: str, container: str, config_file: str) -> list[str]:
    """The command that makes the Nginx in ``container`` reload with ``config_file``: its old workers
    finish the requests in flight, new ones read the changed upstream."""
    if not container or container.startswith("-"):
        raise ValueError("not a container name: %r" % container)
    return [docker, "exec", container, "nginx", "-c", config_file, "-s", "reload"]
