# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ufw_rule_changes: the UFW rules the ufw_docker role adds or deletes (module_utils._ufw)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

from ansible_collections.djangoops.fleet.plugins.module_utils import _ufw


def ufw_rule_changes(status, web_ports, local_sources, app_ports):
    """The rules to add or delete so that UFW lets in what the role wants, from ``ufw status verbose``."""
    for name, value in (("web_ports", web_ports), ("local_sources", local_sources), ("app_ports", app_ports)):
        if not is_sequence(value):
            raise AnsibleFilterError("ufw_rule_changes: %s must be a list" % name)
    try:
        return _ufw.rule_changes(str(status or ""), list(web_ports), list(local_sources), list(app_ports))
    except ValueError as error:
        raise AnsibleFilterError("ufw_rule_changes: %s" % error) from error


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict:
        return {"ufw_rule_changes": ufw_rule_changes}
