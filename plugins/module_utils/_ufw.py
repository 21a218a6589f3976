# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The UFW rules on INPUT that the ufw_docker role keeps on a server that is a proxy too: which to add and
which to delete, from what ``ufw status verbose`` listed. Each rule carries a comment naming its kind,
so rules a user added by hand are never touched."""

from __future__ import annotations

import ipaddress
import re
import typing as t

WEB = "djangoops.fleet web"
LOCAL_PROXY = "djangoops.fleet local proxy"

# `ufw status verbose`: "80/tcp   ALLOW IN   Anywhere   # comment"; the "(v6)" twins of IPv4 rules are
# left out (a rule from anywhere covers both families; one from an IPv4 network has no twin).
_RULE = re.compile(r"^(?P<port>[0-9]+)/tcp +ALLOW IN +(?P<source>[0-9A-Za-z.:/]+) +# (?P<comment>%s|%s)$"
                   % (re.escape(WEB), re.escape(LOCAL_PROXY)), re.MULTILINE)


def _rule(port: t.Any, source: str, comment: str) -> dict[str, t.Any]:
    return {"port": int(port), "source": source, "comment": comment}


def present_rules(status: str) -> list[dict[str, t.Any]]:
    """The rules of this role that ``ufw status verbose`` lists, in its order."""
    return [_rule(match["port"], match["source"], match["comment"]) for match in _RULE.finditer(status or "")]


def wanted_rules(web_ports: t.Sequence[t.Any], local_sources: t.Sequence[str],
                 app_ports: t.Sequence[t.Any]) -> list[dict[str, t.Any]]:
    """The web ports open to everyone, and each app port open to each network the server's own Nginx
    connects from (CIDRs, as Docker reports its bridge's subnets)."""
    rules = [_rule(port, "Anywhere", WEB) for port in web_ports]
    for source in local_sources:
        network = str(ipaddress.ip_network(source, strict=False))
        rules.extend(_rule(port, network, LOCAL_PROXY) for port in app_ports)
    return rules


def rule_changes(status: str, web_ports: t.Sequence[t.Any], local_sources: t.Sequence[str],
                 app_ports: t.Sequence[t.Any]) -> list[dict[str, t.Any]]:
    """The rules to add (``delete: False``) and those to delete, each with the ufw module's ``from_ip``."""
    present = present_rules(status)
    wanted = wanted_rules(web_ports, local_sources, app_ports)
    changes = [dict(rule, delete=False) for rule in wanted if rule not in present]
    changes += [dict(rule, delete=True) for rule in present if rule not in wanted]
    for change in changes:
        change["from_ip"] = "any" if change["source"] == "Anywhere" else change["source"]
    return changes
