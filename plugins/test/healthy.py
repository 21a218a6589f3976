# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test healthy: did a health check request (an ansible.builtin.uri result) get the status and body it must?"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError


def healthy(result, status=200, body="") -> bool:
    """True when the result's status is ``status`` and, with a ``body`` regular expression, its content matches it."""
    if not isinstance(result, dict):
        raise AnsibleFilterError("healthy expects the registered result of an ansible.builtin.uri task")
    if result.get("status") != int(status):
        return False
    if not body:
        return True
    try:
        return re.search(str(body), str(result.get("content") or "")) is not None
    except re.error as error:
        raise AnsibleFilterError("healthy: the body pattern %r is not a regular expression: %s" % (body, error))


class TestModule:
    """Ansible test plugin entry point."""

    def tests(self) -> dict:
        return {"healthy": healthy}
