# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ufw_rule_changes filter as the ufw_docker role calls it (the rules themselves: module_utils/test__ufw.py)."""

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
