# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ufw_docker role's filters as it calls them (the rules themselves: module_utils/test__ufw.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.fleet.plugins.filter.ufw import FilterModule

STATUS = """\
Status: active

To                         Action      From
--                         ------      ----
80/tcp                     ALLOW IN    Anywhere                   # djangoops.fleet web
443/tcp                    ALLOW IN    Anywhere                   # djangoops.fleet web
8000/tcp                   ALLOW IN    172.17.0.0/16              # djangoops.fleet local proxy
"""


def test_the_filter_checks_its_arguments() -> None:
    changes = FilterModule().filters()["ufw_rule_changes"]
    assert changes(STATUS, [80, 443], ["172.17.0.0/16"], [8000]) == []
    with pytest.raises(AnsibleFilterError, match="local_sources must be a list"):
        changes(STATUS, [80], "172.17.0.0/16", [8000])
    with pytest.raises(AnsibleFilterError, match="ufw_rule_changes"):
        changes(STATUS, [80], ["bridge"], [8000])
    with pytest.raises(AnsibleFilterError, match="ssh must be a dict"):
        changes(STATUS, [80], [], [8000], {"port": 22})
    ssh = {"port": 22, "rule": "limit", "sources": ["192.0.2.0/24"]}
    assert [(c["from_ip"], c["delete"]) for c in changes(STATUS, [80, 443], ["172.17.0.0/16"], [8000], ssh)] == [
        ("192.0.2.0/24", False)]


def test_the_lockout_filter_names_the_address_and_checks_its_arguments() -> None:
    lockout = FilterModule().filters()["ufw_ssh_lockout_problem"]
    assert lockout("192.0.2.7 5 198.51.100.4 22", ["192.0.2.0/24"]) == ""
    assert "192.0.2.7" in lockout("192.0.2.7 5 198.51.100.4 22", ["10.0.0.0/8"])
    with pytest.raises(AnsibleFilterError, match="sources must be a list"):
        lockout("192.0.2.7 5 198.51.100.4 22", "10.0.0.0/8")
    with pytest.raises(AnsibleFilterError, match="ufw_ssh_lockout_problem"):
        lockout("192.0.2.7 5 198.51.100.4 22", ["not-a-network"])
