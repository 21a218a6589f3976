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


SSH_ANYWHERE = {"port": 22, "rule": "limit", "sources": []}


def test_the_rules_of_this_role_are_read_back_and_nothing_else() -> None:
    assert _ufw.present_rules(STATUS) == [
        {"port": 22, "source": "Anywhere", "comment": _ufw.SSH, "rule": "limit"},
        {"port": 80, "source": "Anywhere", "comment": _ufw.WEB, "rule": "allow"},
        {"port": 443, "source": "Anywhere", "comment": _ufw.WEB, "rule": "allow"},
        {"port": 8000, "source": "172.17.0.0/16", "comment": _ufw.LOCAL_PROXY, "rule": "allow"},
    ]


def test_a_steady_server_changes_nothing() -> None:
    assert _ufw.rule_changes(STATUS, [80, 443], ["172.17.0.0/16"], [8000]) == []
    assert _ufw.rule_changes(STATUS, [80, 443], ["172.17.0.0/16"], [8000], SSH_ANYWHERE) == []


def test_ssh_from_listed_sources_is_added_before_the_rule_for_every_source_is_deleted() -> None:
    ssh = {"port": 22, "rule": "limit", "sources": ["192.0.2.7/32", "198.51.100.9/24", "2001:db8::/48"]}
    changes = _ufw.rule_changes(STATUS, [80, 443], ["172.17.0.0/16"], [8000], ssh)
    assert [(c["rule"], c["port"], c["from_ip"], c["comment"], c["delete"]) for c in changes] == [
        ("limit", 22, "192.0.2.7", _ufw.SSH, False),
        ("limit", 22, "198.51.100.0/24", _ufw.SSH, False),
        ("limit", 22, "2001:db8::/48", _ufw.SSH, False),
        ("limit", 22, "any", _ufw.SSH, True),
    ]


def test_ssh_sources_as_ufw_lists_them_are_steady_and_a_dropped_one_is_deleted() -> None:
    status = STATUS.replace("22/tcp                     LIMIT IN    Anywhere                   # djangoops.fleet ssh",
                            "22/tcp                     ALLOW IN    192.0.2.7                  # djangoops.fleet ssh\n"
                            "22/tcp                     ALLOW IN    10.9.0.0/16                # djangoops.fleet ssh")
    steady = {"port": 22, "rule": "allow", "sources": ["192.0.2.7", "10.9.1.1/16"]}
    assert _ufw.rule_changes(status, [80, 443], ["172.17.0.0/16"], [8000], steady) == []
    changes = _ufw.rule_changes(status, [80, 443], ["172.17.0.0/16"], [8000], dict(steady, sources=["192.0.2.7"]))
    assert [(c["rule"], c["from_ip"], c["delete"]) for c in changes] == [("allow", "10.9.0.0/16", True)]
    # Back to every source: the rule for everyone first, then the listed ones go.
    changes = _ufw.rule_changes(status, [80, 443], ["172.17.0.0/16"], [8000], dict(steady, sources=[]))
    assert [(c["from_ip"], c["delete"]) for c in changes] == [("any", False), ("192.0.2.7", True), ("10.9.0.0/16", True)]


def test_a_switch_between_limit_and_allow_is_one_addition_that_ufw_replaces_in_place() -> None:
    changes = _ufw.rule_changes(STATUS, [80, 443], ["172.17.0.0/16"], [8000], dict(SSH_ANYWHERE, rule="allow"))
    assert [(c["rule"], c["port"], c["from_ip"], c["delete"]) for c in changes] == [("allow", 22, "any", False)]


def test_a_new_ssh_port_is_added_before_the_old_one_is_deleted() -> None:
    changes = _ufw.rule_changes(STATUS, [80, 443], ["172.17.0.0/16"], [8000], dict(SSH_ANYWHERE, port=2222))
    assert [(c["port"], c["delete"]) for c in changes] == [(2222, False), (22, True)]


@pytest.mark.parametrize(("connection", "sources", "allowed"), [
    ("192.0.2.7 50022 198.51.100.4 22", ["192.0.2.0/24"], True),
    ("192.0.2.7 50022 198.51.100.4 22", ["192.0.2.7"], True),
    ("192.0.2.7 50022 198.51.100.4 22", ["192.0.3.0/24", "2001:db8::/32"], False),
    ("::ffff:192.0.2.7 50022 ::ffff:198.51.100.4 22", ["192.0.2.0/24"], True),
    ("2001:db8::5 50022 2001:db8::1 22", ["2001:db8::/32"], True),
    ("2001:db8::5 50022 2001:db8::1 22", ["192.0.2.0/24"], False),
    ("", ["192.0.2.0/24"], True),  # not over SSH: nothing to cut
    ("192.0.2.7 50022 198.51.100.4 22", [], True),  # every source
])
def test_a_source_list_that_leaves_out_this_runs_address_is_a_lockout(connection, sources, allowed) -> None:
    problem = _ufw.ssh_lockout_problem(connection, sources)
    assert (problem == "") is allowed, problem
    if not allowed:
        assert "192.0.2.7" in problem or "2001:db8::5" in problem
        assert "ufw_docker_ssh_sources" in problem


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


def test_the_proxies_peers_are_inserted_before_the_ssh_rule_that_would_count_them() -> None:
    ssh = dict(SSH_ANYWHERE, peers=["10.87.0.13", "fd00:87::13"])
    changes = _ufw.rule_changes(STATUS, [80, 443], ["172.17.0.0/16"], [8000], ssh)
    assert [(c["rule"], c["port"], c["from_ip"], c["comment"], c["delete"], c.get("insert"), c.get("insert_relative_to"))
            for c in changes] == [
        ("allow", 22, "10.87.0.13", _ufw.PEERS, False, 0, "first-ipv4"),
        ("allow", 22, "fd00:87::13", _ufw.PEERS, False, 0, "first-ipv6"),
    ]


def test_peers_listed_before_the_ssh_rule_are_steady_and_listed_after_it_are_moved() -> None:
    peer = "22/tcp                     ALLOW IN    10.87.0.13                 # djangoops.fleet proxy peers\n"
    ssh_line = "22/tcp                     LIMIT IN    Anywhere                   # djangoops.fleet ssh\n"
    ssh = dict(SSH_ANYWHERE, peers=["10.87.0.13"])
    before = STATUS.replace(ssh_line, peer + ssh_line)
    assert _ufw.rule_changes(before, [80, 443], ["172.17.0.0/16"], [8000], ssh) == []
    after = STATUS.replace(ssh_line, ssh_line + peer)
    changes = _ufw.rule_changes(after, [80, 443], ["172.17.0.0/16"], [8000], ssh)
    assert [(c["from_ip"], c["comment"], c["delete"], c.get("insert")) for c in changes] == [
        ("10.87.0.13", _ufw.PEERS, True, None), ("10.87.0.13", _ufw.PEERS, False, 0)]
    # A proxy that is one no more (no peers): its peers' rules go, the SSH rule stays.
    gone = _ufw.rule_changes(before, [80, 443], ["172.17.0.0/16"], [8000], SSH_ANYWHERE)
    assert [(c["from_ip"], c["comment"], c["delete"]) for c in gone] == [("10.87.0.13", _ufw.PEERS, True)]
