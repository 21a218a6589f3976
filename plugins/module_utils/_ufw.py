# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The UFW rules on INPUT that the ufw_docker role keeps: SSH (from every source or from the listed ones), and
on a proxy the web ports (plus, on a server that is an app server too, the app ports to its own Nginx): which
to add and which to delete, from what ``ufw status verbose`` listed. Each rule carries a comment naming its
kind, so rules a user added by hand are never touched."""

from __future__ import annotations

import ipaddress
import re
import typing as t

SSH = "djangoops.fleet ssh"
PEERS = "djangoops.fleet proxy peers"
WEB = "djangoops.fleet web"
LOCAL_PROXY = "djangoops.fleet local proxy"
ANYWHERE = "Anywhere"

# `ufw status verbose`: "80/tcp   ALLOW IN   Anywhere   # comment"; the "(v6)" twins of IPv4 rules are
# left out (a rule from anywhere covers both families; one from an IPv4 network has no twin).
_RULE = re.compile(r"^(?P<port>[0-9]+)/tcp +(?P<action>ALLOW|LIMIT) IN +(?P<source>[0-9A-Za-z.:/]+) +# (?P<comment>%s)$"
                   % "|".join(re.escape(comment) for comment in (SSH, PEERS, WEB, LOCAL_PROXY)), re.MULTILINE)


def source_as_listed(source: str) -> str:
    """A source as UFW lists it: Anywhere, a network as a CIDR, a single address without its prefix."""
    if source in ("any", ANYWHERE):
        return ANYWHERE
    network = ipaddress.ip_network(source, strict=False)
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def ssh_lockout_problem(ssh_connection: str, sources: t.Sequence[str]) -> str:
    """'' when SSH from ``sources`` keeps the connection this run came over (``SSH_CONNECTION`` on the server:
    "client port server port"; empty for a connection other than SSH, which UFW cannot cut), else why not."""
    client = (ssh_connection or "").split()[:1]
    if not sources or not client:
        return ""
    address = ipaddress.ip_address(client[0].split("%")[0])
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    for source in sources:
        network = ipaddress.ip_network(source, strict=False)
        if network.version == address.version and address in network:
            return ""
    return ("this run's SSH connection comes from %s, which ufw_docker_ssh_sources %s does not include: the run "
            "would lock itself out. Add that address (or its network) to ufw_docker_ssh_sources" % (address, list(sources)))


def _rule(port: t.Any, source: str, comment: str, action: str = "allow") -> dict[str, t.Any]:
    return {"port": int(port), "source": source, "comment": comment, "rule": action}


def present_rules(status: str) -> list[dict[str, t.Any]]:
    """The rules of this role that ``ufw status verbose`` lists, in its order."""
    return [_rule(match["port"], match["source"], match["comment"], match["action"].lower())
            for match in _RULE.finditer(status or "")]


def wanted_rules(web_ports: t.Sequence[t.Any], local_sources: t.Sequence[str], app_ports: t.Sequence[t.Any],
                 ssh: t.Mapping[str, t.Any] | None = None) -> list[dict[str, t.Any]]:
    """SSH (``ssh``: its port, rule and sources, none meaning every source, and the other proxies' addresses,
    ``peers``, always allowed without a rate limit), the web ports open to everyone, and each app port open to
    each network the server's own Nginx connects from (CIDRs, as Docker reports its bridge's subnets)."""
    rules = []
    if ssh is not None:
        rules.extend(_rule(ssh["port"], source_as_listed(peer), PEERS) for peer in ssh.get("peers") or [])
        rules.extend(_rule(ssh["port"], source_as_listed(source), SSH, ssh["rule"])
                     for source in ssh.get("sources") or [ANYWHERE])
    rules.extend(_rule(port, ANYWHERE, WEB) for port in web_ports)
    for source in local_sources:
        network = str(ipaddress.ip_network(source, strict=False))
        rules.extend(_rule(port, network, LOCAL_PROXY) for port in app_ports)
    return rules


def _family(source: str) -> str:
    return "ipv6" if ":" in source else "ipv4"


def rule_changes(status: str, web_ports: t.Sequence[t.Any], local_sources: t.Sequence[str],
                 app_ports: t.Sequence[t.Any], ssh: t.Mapping[str, t.Any] | None = None) -> list[dict[str, t.Any]]:
    """The rules to add (``delete: False``), then those to delete, each with the ufw module's ``from_ip``: a
    connection from a source still allowed never passes through a moment without its rule. Without ``ssh``,
    the SSH rules are left as they are. A rule whose action changes (limit, allow) is only added: UFW replaces
    the rule of the same port and source in place.

    The proxies' certificate sync connects to its peers over SSH as often as their renewal timers run: their
    rules must come before a ``limit`` rule that would count them, so they are inserted first in their family
    (``insert``), and when one lists after an SSH rule, all of them are deleted first and inserted again."""
    present = present_rules(status)
    if ssh is None:
        present = [rule for rule in present if rule["comment"] not in (SSH, PEERS)]
    wanted = wanted_rules(web_ports, local_sources, app_ports, ssh)

    def key(rule: t.Mapping[str, t.Any]) -> tuple:
        return rule["port"], rule["source"], rule["comment"]

    first_ssh = min((index for index, rule in enumerate(present) if rule["comment"] == SSH), default=len(present))
    misordered = any(rule["comment"] == PEERS and index > first_ssh for index, rule in enumerate(present))
    removed = [rule for rule in present if misordered and rule["comment"] == PEERS]
    kept = [rule for rule in present if rule not in removed]

    wanted_keys = {key(rule) for rule in wanted}
    changes = [dict(rule, delete=True) for rule in removed]
    changes += [dict(rule, delete=False) for rule in wanted if rule not in kept]
    changes += [dict(rule, delete=True) for rule in kept if key(rule) not in wanted_keys]
    for change in changes:
        change["from_ip"] = "any" if change["source"] == ANYWHERE else change["source"]
        if change["comment"] == PEERS and not change["delete"]:
            change["insert"], change["insert_relative_to"] = 0, "first-" + _family(change["source"])
    return changes
