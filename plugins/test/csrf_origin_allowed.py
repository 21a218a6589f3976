# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test csrf_origin_allowed: is a CSRF trusted origin one of the site's HTTPS names?"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

# https://HOST[:PORT], nothing after: Django compares scheme, host and port of the Origin header.
_ORIGIN = re.compile(r"^https://(?P<host>\*\.[^/:]+|[^/:*]+)(?::(?P<port>[0-9]{1,5}))?/?$", re.IGNORECASE)


def _host_allowed(host: str, allowed_hosts) -> bool:
    host = host.lower()
    for allowed in (str(entry).lower() for entry in allowed_hosts):
        if allowed == "*" or allowed == host:
            return True
        # ALLOWED_HOSTS ".example.com" matches example.com and every subdomain.
        if allowed.startswith(".") and (host == allowed[1:] or host.endswith(allowed)):
            return True
    return False


def csrf_origin_allowed(origin, allowed_hosts) -> bool:
    """True when ``origin`` is ``https://`` plus a host the site serves (per ALLOWED_HOSTS)."""
    if not is_sequence(allowed_hosts):
        raise AnsibleFilterError("csrf_origin_allowed expects the list of allowed hosts")
    match = _ORIGIN.match(str(origin))
    if not match:
        return False
    host = match.group("host")
    if host.startswith("*."):
        # A wildcard origin needs the whole domain to be allowed.
        return any(str(entry).lower() in ("*", "." + host[2:].lower()) for entry in allowed_hosts)
    return _host_allowed(host, allowed_hosts)


class TestModule:
    """Ansible test plugin entry point."""

    def tests(self) -> dict:
        return {"csrf_origin_allowed": csrf_origin_allowed}
