# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""benchmarks/lib/lab.py on the real lab inventory: its servers and services, and the extra app
servers the benchmarks add (addresses after the servers', below the services'), checked against
tests/lab/inventory-app3.yml and loaded with Ansible's own inventory loader."""

from __future__ import annotations

import pathlib
import sys

import pytest
import yaml
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader

CHECKOUT = pathlib.Path(__file__).resolve().parents[2]
if str(CHECKOUT) not in sys.path:
    sys.path.insert(0, str(CHECKOUT))

from benchmarks.lib import lab as lab_plan  # pylint: disable=wrong-import-position

LAB_INVENTORY = CHECKOUT / "inventories" / "lab"


@pytest.fixture(name="lab")
def lab_fixture() -> lab_plan.Lab:
    return lab_plan.load_lab(LAB_INVENTORY)


def test_the_lab_as_its_inventory_describes_it(lab):
    assert lab.domain == "polls.djangoops.test"
    assert lab.client_container == "djangoops-lab-client"
    assert lab.container("app1") == "djangoops-lab-app1"
    assert lab.client_address == "198.51.100.40"
    assert [(server.name, server.public, server.private) for server in lab.app_servers] == [
        ("app1", "198.51.100.11", "10.87.0.11"), ("app2", "198.51.100.12", "10.87.0.12")]
    assert [server.name for server in lab.proxies] == ["proxy1", "proxy2"]
    assert lab.proxies[0].public == "198.51.100.10"
    # Services and the client, from group_vars/all/lab.yml; the templated lab_registry is not an address.
    assert {"10.87.0.20", "10.87.0.21", "198.51.100.22", "198.51.100.40", "10.87.0.50"} <= set(lab.service_addresses)


def test_releases(lab):
    assert lab.app_version == "1.0.0"
    assert lab.next_release == "1.1.0"


def test_extra_app_servers_match_the_labs_own_app3(lab):
    with (CHECKOUT / "tests" / "lab" / "inventory-app3.yml").open(encoding="utf-8") as handle:
        app3 = yaml.safe_load(handle)["all"]["children"]["django_app"]["hosts"]["app3"]
    extra = lab_plan.extra_app_servers(lab, 3)
    # IPv6 too: without them tests/lab/up.yml cannot create the server on the dual-stack lab.
    assert extra == [lab_plan.Server("app3", app3["ansible_host"], app3["private_address"], app3["public_ipv6"], app3["private_ipv6"])]


def test_eight_app_servers_fill_the_servers_range(lab):
    extra = lab_plan.extra_app_servers(lab, 8)
    assert [server.name for server in extra] == ["app3", "app4", "app5", "app6", "app7", "app8"]
    assert [server.public for server in extra] == [f"198.51.100.{number}" for number in range(14, 20)]
    assert [server.private for server in extra] == [f"10.87.0.{number}" for number in range(14, 20)]
    # None of them takes a service's or the client's address.
    assert not {server.public for server in extra} & set(lab.service_addresses)
    assert not {server.private for server in extra} & set(lab.service_addresses)


def test_a_ninth_app_server_would_collide_with_the_services(lab):
    with pytest.raises(lab_plan.LabPlanError, match=r"room for 8 app servers.*\.20 and up.*asked for 9"):
        lab_plan.extra_app_servers(lab, 9)


@pytest.mark.parametrize(("total", "names"), [(1, ["app1"]), (2, ["app1", "app2"]), (4, ["app1", "app2", "app3", "app4"])])
def test_the_first_app_servers(lab, total, names):
    assert [server.name for server in lab_plan.app_servers(lab, total)] == names


def test_no_extra_inventory_when_the_labs_servers_suffice(lab, tmp_path):
    assert lab_plan.write_extra_inventory(lab, 2, tmp_path) is None
    assert not list(tmp_path.iterdir())


def test_the_extra_inventory_joins_the_lab_inventory(lab, tmp_path):
    path = lab_plan.write_extra_inventory(lab, 4, tmp_path)
    inventory = InventoryManager(loader=DataLoader(), sources=[str(LAB_INVENTORY), str(path)])
    assert sorted(host.name for host in inventory.groups["django_app"].get_hosts()) == ["app1", "app2", "app3", "app4"]
    # In lab_servers too (through django_app), so the lab's SSH settings apply to them.
    assert "app4" in [host.name for host in inventory.groups["lab_servers"].get_hosts()]
    app4 = inventory.get_host("app4")
    assert (app4.vars["ansible_host"], app4.vars["private_address"]) == ("198.51.100.15", "10.87.0.15")


@pytest.mark.parametrize(
    ("address", "inside"),
    [("198.51.100.10", True), ("10.87.0.14", True), ("192.0.2.10", False), ("10.88.0.1", False), ("polls.djangoops.test", False)],
)
def test_load_goes_only_to_lab_addresses(lab, address, inside):
    assert lab.is_lab_address(address) is inside


def test_a_broken_inventory_names_its_file(tmp_path):
    (tmp_path / "hosts.yml").write_text("all:\n  children:\n    nginx_proxy:\n      hosts: {}\n", encoding="utf-8")
    (tmp_path / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "group_vars" / "all" / "lab.yml").write_text(
        (LAB_INVENTORY / "group_vars" / "all" / "lab.yml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(lab_plan.LabPlanError, match=r"hosts\.yml has no hosts in group django_app"):
        lab_plan.load_lab(tmp_path)
