# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The UFW rules ufw_docker keeps on a server that is a proxy too, read back from `ufw status verbose`."""

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils import _ufw

# As UFW 0.36 prints it on Debian 13, with a rule a user added by hand.
STATUS = """\
Status: active
Logging: on (low)
Default: deny (incoming), allow (outgoing), deny (routed)
New profiles: skip

To                         Action      From
--                         ------      ----
22/tcp                     LIMIT IN    Anywhere                   # djangoops.fleet ssh
80/tcp                     ALLOW IN    Anywhere                   # djangoops.fleet web
443/tcp                    ALLOW IN    Anywhere                   # djangoops.fleet web
8000/tcp                   ALLOW IN    172.17.0.0/16              # djangoops.fleet local proxy
9100/tcp                   ALLOW IN    10.0.0.0/8                 # node exporter
22/tcp (v6)                LIMIT IN    Anywhere (v6)              # djangoops.fleet ssh
80/tcp (v6)                ALLOW IN    Anywhere (v6)              # djangoops.fleet web
443/tcp (v6)               ALLOW IN    Anywhere (v6)              # djangoops.fleet web

boot: ENABLED=yes
"""


def test_the_rules_of_this_role_are_read_back_and_nothing_else() -> None:
    assert _ufw.present_rules(STATUS) == [
        {"port": 80, "source": "Anywhere", "comment": _ufw.WEB},
        {"port": 443, "source": "Anywhere", "comment": _ufw.WEB},
        {"port": 8000, "source": "172.17.0.0/16", "comment": _ufw.LOCAL_PROXY},
    ]


def test_a_steady_server_changes_nothing() -> None:
    assert _ufw.rule_changes(STATUS, [80, 443], ["172.17.0.0/16"], [8000]) == []


def test_a_new_app_port_is_added_and_an_old_one_deleted() -> None:
    changes = _ufw.rule_changes(STATUS, [80, 443], ["172.17.0.0/16"], [8081, 8082])
    assert [(c["port"], c["from_ip"], c["delete"]) for c in changes] == [
        (8081, "172.17.0.0/16", False), (8082, "172.17.0.0/16", False), (8000, "172.17.0.0/16", True)]


def test_a_server_that_is_no_proxy_any_more_loses_its_web_rules_only() -> None:
    changes = _ufw.rule_changes(STATUS, [], [], [8000, 8001])
    assert [(c["port"], c["from_ip"], c["comment"], c["delete"]) for c in changes] == [
        (80, "any", _ufw.WEB, True), (443, "any", _ufw.WEB, True), (8000, "172.17.0.0/16", _ufw.LOCAL_PROXY, True)]


def test_a_fresh_server_gets_every_rule() -> None:
    changes = _ufw.rule_changes("Status: inactive\n", ["80", "443"], ["172.17.0.1/16"], [8000, 8001])
    assert [(c["port"], c["from_ip"], c["delete"]) for c in changes] == [
        (80, "any", False), (443, "any", False), (8000, "172.17.0.0/16", False), (8001, "172.17.0.0/16", False)]


def test_a_source_that_is_no_network_is_refused() -> None:
    with pytest.raises(ValueError):
        _ufw.rule_changes("", [], ["bridge"], [8000])
