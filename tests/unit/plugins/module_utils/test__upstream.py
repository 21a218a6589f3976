# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests of _upstream on real inventories.

Each inventory is written to a file and loaded with Ansible's own InventoryManager,
VariableManager and HostVars, so ``groups`` and ``hostvars`` (including lazily templated values
such as ``"{{ subnet }}.11"``) are exactly what the action plugin gets in a play. The expected
texts are written out by hand from nginx's upstream syntax.
"""

from __future__ import annotations

import json
import re
import textwrap
import typing as t

import pytest
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

from ansible_collections.djangoops.fleet.plugins.module_utils._upstream import (
    Server,
    UpstreamError,
    build_servers,
    reload_argv,
    render_upstream,
    set_down,
)

# Hosts are listed out of order, app2 is in two groups, app1's address is a template,
# app3 only has ansible_host (IPv6), canary's address is a host name.
FLEET_YAML = """
all:
  vars:
    subnet: 10.0.0
  children:
    django_app:
      hosts:
        app3.example.com:
          ansible_host: "2001:db8::13"
        app1.example.com:
          private_address: "{{ subnet }}.11"
        app2.example.com:
          private_address: 10.0.0.12
          nginx_upstream_weight: 3
    django_canary:
      hosts:
        app2.example.com:
        canary.example.com:
          private_address: Canary.Internal.Example.COM
    empty_group:
    # Each broken_* group holds one mistake.
    broken_noaddr:
      hosts:
        noaddr.example.com:
          public_address: 198.51.100.7
    broken_badaddr:
      hosts:
        badaddr.example.com:
          private_address: 10.0.0.300
    broken_badhost:
      hosts:
        badhost.example.com:
          ansible_host: web_1
    broken_dup:
      hosts:
        dup1.example.com:
          private_address: "2001:db8::50"
        dup2.example.com:
          private_address: "2001:db8:0:0:0:0:0:50"
    broken_weight_zero:
      hosts:
        zero.example.com:
          private_address: 10.0.0.60
          nginx_upstream_weight: 0
    broken_weight_text:
      hosts:
        text.example.com:
          private_address: 10.0.0.61
          nginx_upstream_weight: heavy
"""

# The same kind of fleet in INI, where Ansible parses values itself.
FLEET_INI = """
[django_app]
app1.example.com private_address=10.0.1.11
app2.example.com private_address=10.0.1.12 nginx_upstream_weight=2
app3.example.com ansible_host=app3.lan private_address=""
"""

HEADER = "# Managed by Ansible (djangoops.fleet.nginx_upstream): do not edit.\n"


def load_inventory(tmp_path: t.Any, filename: str, text: str) -> tuple[dict[str, list[str]], t.Mapping[str, t.Any]]:
    """Return ``groups`` and ``hostvars`` as a play sees them for ``text`` saved as ``filename``."""
    path = tmp_path / filename
    path.write_text(text)
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(path)])
    variable_manager = VariableManager(loader=loader, inventory=inventory)
    # The task queue manager does this in a real run; it makes get_vars() return 'hostvars'.
    HostVars(inventory=inventory, variable_manager=variable_manager, loader=loader)
    play_vars = variable_manager.get_vars()
    return play_vars["groups"], play_vars["hostvars"]


@pytest.fixture
def fleet(tmp_path: t.Any) -> tuple[dict[str, list[str]], t.Mapping[str, t.Any]]:
    return load_inventory(tmp_path, "fleet.yml", FLEET_YAML)


def render(groups: t.Mapping[str, t.Any], hostvars: t.Mapping[str, t.Any], *, group_names: list[str],
           name: str = "django", keepalive: int = 32, **options: t.Any) -> str:
    servers = build_servers(groups, hostvars, group_names=group_names, **options)
    return render_upstream(name, servers, keepalive=keepalive)


RENDER_CASES = [
    pytest.param(
        dict(group_names=["django_app"]),
        """\
        upstream django {
            zone upstream_django 64k;
            server 10.0.0.11:8000 max_fails=3 fail_timeout=10s;  # app1.example.com
            server 10.0.0.12:8000 weight=3 max_fails=3 fail_timeout=10s;  # app2.example.com
            server [2001:db8::13]:8000 max_fails=3 fail_timeout=10s;  # app3.example.com
            keepalive 32;
        }
        """,
        id="defaults-sorted-templated-ipv6-fallback",
    ),
    pytest.param(
        dict(group_names=["django_app", "django_canary"], name="app", port=9000, keepalive=0,
             drain=["app1.example.com"], backup=["canary.example.com"], max_fails=0, fail_timeout=30),
        """\
        upstream app {
            zone upstream_app 64k;
            server 10.0.0.11:9000 max_fails=0 fail_timeout=30s down;  # app1.example.com
            server 10.0.0.12:9000 weight=3 max_fails=0 fail_timeout=30s;  # app2.example.com
            server [2001:db8::13]:9000 max_fails=0 fail_timeout=30s;  # app3.example.com
            server canary.internal.example.com:9000 max_fails=0 fail_timeout=30s backup;  # canary.example.com
        }
        """,
        id="two-groups-dedup-drain-backup-hostname-no-keepalive",
    ),
    pytest.param(
        dict(group_names=["django_canary", "django_canary"], keepalive=1),
        """\
        upstream django {
            zone upstream_django 64k;
            server 10.0.0.12:8000 weight=3 max_fails=3 fail_timeout=10s;  # app2.example.com
            server canary.internal.example.com:8000 max_fails=3 fail_timeout=10s;  # canary.example.com
            keepalive 1;
        }
        """,
        id="group-given-twice",
    ),
    pytest.param(
        dict(group_names=["broken_noaddr"], address_var="public_address"),
        """\
        upstream django {
            zone upstream_django 64k;
            server 198.51.100.7:8000 max_fails=3 fail_timeout=10s;  # noaddr.example.com
            keepalive 32;
        }
        """,
        id="other-address-var",
    ),
]


@pytest.mark.parametrize("options, expected", RENDER_CASES)
def test_render_from_yaml_inventory(fleet: t.Any, options: dict[str, t.Any], expected: str) -> None:
    groups, hostvars = fleet
    assert render(groups, hostvars, **options) == HEADER + textwrap.dedent(expected)


def test_render_from_ini_inventory(tmp_path: t.Any) -> None:
    groups, hostvars = load_inventory(tmp_path, "fleet.ini", FLEET_INI)
    # app3 has an empty private_address, so ansible_host (a host name) is used.
    assert render(groups, hostvars, group_names=["django_app"], port=8001) == HEADER + textwrap.dedent("""\
        upstream django {
            zone upstream_django 64k;
            server 10.0.1.11:8001 max_fails=3 fail_timeout=10s;  # app1.example.com
            server 10.0.1.12:8001 weight=2 max_fails=3 fail_timeout=10s;  # app2.example.com
            server app3.lan:8001 max_fails=3 fail_timeout=10s;  # app3.example.com
            keepalive 32;
        }
        """)


def test_servers_are_unique_and_sorted(fleet: t.Any) -> None:
    groups, hostvars = fleet
    servers = build_servers(groups, hostvars, group_names=["django_canary", "django_app"], weight_var="none_set")
    assert servers == [
        Server(host="app1.example.com", address="10.0.0.11", port=8000),
        Server(host="app2.example.com", address="10.0.0.12", port=8000),
        Server(host="app3.example.com", address="2001:db8::13", port=8000),
        Server(host="canary.example.com", address="canary.internal.example.com", port=8000),
    ]
    assert servers[2].to_dict() == {
        "host": "app3.example.com", "address": "2001:db8::13", "port": 8000, "weight": 1,
        "down": False, "backup": False, "max_fails": 3, "fail_timeout": 10,
    }


ERROR_CASES = [
    pytest.param(
        dict(group_names=[]),
        "no inventory group given: set groups to the groups of the app servers, e.g. [django_app]",
        id="no-groups",
    ),
    pytest.param(
        dict(group_names=["django_app", "django_ap"]),
        "group 'django_ap' is not in the inventory: add it or fix the groups option",
        id="unknown-group",
    ),
    pytest.param(
        dict(group_names=["django_app", "empty_group"]),
        "group 'empty_group' has no hosts: add the app servers to it or drop it from groups",
        id="empty-group",
    ),
    pytest.param(
        dict(group_names=["broken_noaddr"]),
        "host 'noaddr.example.com' has no address: set private_address (or ansible_host) for it in the inventory",
        id="no-address",
    ),
    pytest.param(
        dict(group_names=["broken_badaddr"]),
        "host 'badaddr.example.com': private_address='10.0.0.300' is not a valid IPv4/IPv6 address or host name: "
        "fix private_address in its inventory",
        id="invalid-ipv4",
    ),
    pytest.param(
        dict(group_names=["broken_badhost"]),
        "host 'badhost.example.com': ansible_host='web_1' is not a valid IPv4/IPv6 address or host name: "
        "fix ansible_host in its inventory",
        id="invalid-hostname-fallback",
    ),
    pytest.param(
        dict(group_names=["broken_dup"]),
        "hosts 'dup1.example.com' and 'dup2.example.com' both resolve to [2001:db8::50]:8000: "
        "give each host its own private_address (or ansible_host)",
        id="duplicate-address-two-spellings",
    ),
    pytest.param(
        dict(group_names=["django_app"], drain=["app9.example.com"]),
        "host 'app9.example.com' is listed in drain but is not in the groups django_app: "
        "remove it from drain or add it to a group",
        id="drained-host-not-in-groups",
    ),
    pytest.param(
        dict(group_names=["django_app"], backup=["canary.example.com"]),
        "host 'canary.example.com' is listed in backup but is not in the groups django_app: "
        "remove it from backup or add it to a group",
        id="backup-host-not-in-groups",
    ),
    pytest.param(
        dict(group_names=["django_app"], drain=["app2.example.com"], backup=["app2.example.com"]),
        "host 'app2.example.com' is in both drain and backup: keep it in one of them",
        id="drained-and-backup",
    ),
    pytest.param(
        dict(group_names=["django_canary"], drain=["app2.example.com", "canary.example.com"]),
        "every host (app2.example.com, canary.example.com) is drained: nginx would have no server; "
        "remove at least one host from drain",
        id="every-host-drained",
    ),
    pytest.param(
        dict(group_names=["django_canary"], drain=["app2.example.com"], backup=["canary.example.com"]),
        "no primary server remains: app2.example.com, canary.example.com are all drained or backup; "
        "remove a host from drain or backup",
        id="no-primary",
    ),
    pytest.param(
        dict(group_names=["broken_weight_zero"]),
        "host 'zero.example.com': nginx_upstream_weight=0 is not a positive integer: set nginx_upstream_weight to 1 or more",
        id="weight-zero",
    ),
    pytest.param(
        dict(group_names=["broken_weight_text"]),
        "host 'text.example.com': nginx_upstream_weight='heavy' is not a positive integer: "
        "set nginx_upstream_weight to 1 or more",
        id="weight-text",
    ),
    pytest.param(
        dict(group_names=["django_app"], port=0),
        "port 0 is out of range: set port to a number from 1 to 65535",
        id="port-zero",
    ),
    pytest.param(
        dict(group_names=["django_app"], port=65536),
        "port 65536 is out of range: set port to a number from 1 to 65535",
        id="port-too-big",
    ),
    pytest.param(
        dict(group_names=["django_app"], fail_timeout=-1),
        "fail_timeout must be a whole number of 0 or more, got -1",
        id="negative-fail-timeout",
    ),
    pytest.param(
        dict(group_names=["django_app"], keepalive=-1),
        "keepalive must be a whole number of 0 or more, got -1",
        id="negative-keepalive",
    ),
    pytest.param(
        dict(group_names=["django_app"], name="django app"),
        "upstream name 'django app' is not usable by nginx: use letters, digits, '_', '.' and '-' only",
        id="upstream-name-with-space",
    ),
]


@pytest.mark.parametrize("options, message", ERROR_CASES)
def test_errors_name_the_culprit(fleet: t.Any, options: dict[str, t.Any], message: str) -> None:
    groups, hostvars = fleet
    with pytest.raises(UpstreamError, match="^%s$" % re.escape(message)):
        render(groups, hostvars, **options)


@pytest.mark.parametrize(
    "address, expected",
    [
        ("10.0.0.1", "10.0.0.1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("app-1.Example.com", "app-1.example.com"),
        ("localhost", "localhost"),
    ],
)
def test_accepted_addresses(tmp_path: t.Any, address: str, expected: str) -> None:
    groups, hostvars = load_inventory(
        tmp_path, "one.yml", "django_app:\n  hosts:\n    one:\n      private_address: %r\n" % address
    )
    assert [s.address for s in build_servers(groups, hostvars, group_names=["django_app"])] == [expected]


@pytest.mark.parametrize(
    "address",
    ["10.0.0.256", "fe80::1%eth0", "[2001:db8::1]", "-app.example.com", "app..example.com", "a" * 64, "1.2.3"],
)
def test_rejected_addresses(tmp_path: t.Any, address: str) -> None:
    groups, hostvars = load_inventory(
        tmp_path, "one.yml", "django_app:\n  hosts:\n    one:\n      private_address: %r\n" % address
    )
    with pytest.raises(UpstreamError, match="^host 'one': private_address=.* is not a valid"):
        build_servers(groups, hostvars, group_names=["django_app"])


@pytest.mark.parametrize("host, what", [
    ("app 1", "whitespace"),
    ("app\t1", "whitespace"),
    ("app#1", "'#'"),
    ("app;1", "';'"),
])
def test_host_names_the_drain_cannot_read_back_are_refused(tmp_path: t.Any, host: str, what: str) -> None:
    # The other host is fine: the error names the culprit, whichever order the hosts come in.
    groups, hostvars = load_inventory(
        tmp_path, "names.yml",
        "django_app:\n  hosts:\n    %s:\n      private_address: 10.0.0.11\n"
        "    zz.example.com:\n      private_address: 10.0.0.12\n" % json.dumps(host),
    )
    assert groups["django_app"] == [host, "zz.example.com"]
    with pytest.raises(UpstreamError) as error:
        build_servers(groups, hostvars, group_names=["django_app"])
    assert str(error.value) == (
        "inventory host %r has %s in its name: each upstream server line names its host in a trailing"
        " comment that rolling deploys drain it by, which cannot hold whitespace, '#' or ';'. Rename the host"
        " in the inventory (its address can stay in ansible_host or the address variable)" % (host, what)
    )


@pytest.mark.parametrize("host", ["app-1.example.com", "app_1", "10.0.0.11", "APP1"])
def test_host_names_the_drain_reads_back_are_accepted(tmp_path: t.Any, host: str) -> None:
    groups, hostvars = load_inventory(
        tmp_path, "names.yml",
        "django_app:\n  hosts:\n    %s:\n      private_address: 10.0.0.11\n"
        "    zz.example.com:\n      private_address: 10.0.0.12\n" % json.dumps(host),
    )
    text = render_upstream("django", build_servers(groups, hostvars, group_names=["django_app"]))
    assert "    server 10.0.0.11:8000 max_fails=3 fail_timeout=10s;  # %s\n" % host in text
    # The drain finds the line by that name.
    drained = set_down(text, [host], down=True)
    assert drained.changed == [host] and drained.missing == []
    assert "    server 10.0.0.11:8000 max_fails=3 fail_timeout=10s down;  # %s\n" % host in drained.text


def test_reload_argv_reloads_the_named_container_with_its_config() -> None:
    assert reload_argv("/usr/bin/docker", "nginx", "/etc/djangoops/nginx/nginx.conf") == [
        "/usr/bin/docker", "exec", "nginx", "nginx", "-c", "/etc/djangoops/nginx/nginx.conf", "-s", "reload"]


@pytest.mark.parametrize("container", ["", "-it"])
def test_reload_argv_refuses_what_is_not_a_container_name(container: str) -> None:
    with pytest.raises(ValueError, match="not a container name"):
        reload_argv("docker", container, "/etc/nginx/nginx.conf")
