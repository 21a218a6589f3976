# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the ufw_docker role (module_utils._ufw): ufw_rule_changes, the UFW rules it adds or deletes;
ufw_ssh_lockout_problem, whether the SSH sources keep the connection a run came over."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

from ansible_collections.djangoops.fleet.plugins.module_utils import _ufw


def ufw_rule_changes(status, web_ports, local_sources, app_ports, ssh=None):
    """The rules to add or delete so that UFW lets in what the role wants, from ``ufw status verbose``;
    ``ssh`` ({port, rule, sources}) manages the SSH rules too."""
    for name, value in (("web_ports", web_ports), ("local_sources", local_sources), ("app_ports", app_ports)):
        if not is_sequence(value):
            raise AnsibleFilterError("ufw_rule_changes: %s must be a list" % name)
    if ssh is not None and not (isinstance(ssh, Mapping) and {"port", "rule"} <= set(ssh)
                                and is_sequence(ssh.get("sources") or []) and is_sequence(ssh.get("peers") or [])):
        raise AnsibleFilterError("ufw_rule_changes: ssh must be a dict with port, rule, and lists of sources and peers")
    try:
        return _ufw.rule_changes(str(status or ""), list(web_ports), list(local_sources), list(app_ports),
                                 None if ssh is None else dict(ssh, sources=list(ssh.get("sources") or []),
                                                               peers=list(ssh.get("peers") or [])))
    except ValueError as error:
        raise AnsibleFilterError("ufw_rule_changes: %s" % error) from error


def ufw_ssh_lockout_problem(ssh_connection, sources):
    """'' or why allowing SSH from ``sources`` only would cut the connection ``SSH_CONNECTION`` describes."""
    if not is_sequence(sources):
        raise AnsibleFilterError("ufw_ssh_lockout_problem: sources must be a list")
    try:
        return _ufw.ssh_lockout_problem(str(ssh_connection or ""), list(sources))
    except ValueError as error:
        raise AnsibleFilterError("ufw_ssh_lockout_problem: %s" % error) from error


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict:
        return {"ufw_rule_changes": ufw_rule_changes, "ufw_ssh_lockout_problem": ufw_ssh_lockout_problem}
