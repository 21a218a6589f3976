"""Scaling out and draining: a third app server joins the upstream by inventory alone, its app port
never answering on a public address while it converges (even when that converge fails), and a
drained server leaves the rotation while a client polling the site sees no failed request."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import time

import pytest
import yaml

from conftest import PROJECT, fresh_lab_servers, run_playbook, server


pytestmark = pytest.mark.changes_lab

WITH_APP3 = ("inventories/lab", "tests/lab/inventory-app3.yml")
RELOAD_NOTE = "/etc/djangoops/nginx.reload-pending"  # nginx_proxy_config_dir + .reload-pending
# The name of each task that failed in an ansible-playbook output.
FAILED_TASK = re.compile(r"^TASK \[([^\]\n]*)\][^\n]*\n(?:(?!^TASK \[).)*?^fatal: ", re.MULTILINE | re.DOTALL)


@dataclasses.dataclass
class Joined:
    converged: subprocess.CompletedProcess
    failed_first: subprocess.CompletedProcess
    reload_left: dict
    probe: dict
    probed: list
    port: int


@pytest.fixture(scope="module")
def app3(lab, client):
    """app3 joins as a new server would: created fresh and converged, first with a certificate request
    that fails (a name no DNS record points at), then again for good; the public address of every app
    server is probed every 100 ms throughout. (The lab's own first converge, of app1 and app2, is probed
    from the lab's creation on: test_firewall.py.) Afterwards the proxies are converged back without it."""
    app3_public = yaml.safe_load((PROJECT / WITH_APP3[1]).read_text())["all"]["children"]["django_app"]["hosts"]["app3"]["ansible_host"]
    publics = [app["ansible_host"] for app in lab.app_servers.values()] + [app3_public]
    port = lab.all_vars.get("site_app_port", 8000)
    # Only the new server and the proxies (whose upstream gains it) have anything to do.
    limit = ("--limit", "app3,nginx_proxy,localhost")

    fresh_lab_servers(["app3"], WITH_APP3)
    client.start_probe([f"{address}:{port}" for address in publics])
    try:
        unresolvable = json.dumps({"certbot_domains": [lab.domain, "no-record." + lab.domain]})
        failed = run_playbook("playbooks/site.yml", *limit, "-e", unresolvable, inventories=WITH_APP3)
        reload_left = {proxy: server(proxy).file(RELOAD_NOTE).exists for proxy in lab.proxies}
        converged = run_playbook("playbooks/site.yml", *limit, inventories=WITH_APP3)
    finally:
        probe = client.stop_probe()
    assert failed.returncode != 0, failed.stdout
    assert FAILED_TASK.findall(failed.stdout) and all(task.startswith("djangoops.fleet.certbot")
                                                      for task in FAILED_TASK.findall(failed.stdout)), failed.stdout
    assert converged.returncode == 0, converged.stdout + converged.stderr
    yield Joined(converged=converged, failed_first=failed, reload_left=reload_left, probe=probe, probed=publics, port=port)
    # The upstream without app3 (the container stays until the lab is torn down, out of the inventory).
    restored = run_playbook("playbooks/site.yml", "--limit", "nginx_proxy,localhost")
    assert restored.returncode == 0, restored.stdout + restored.stderr


def test_a_new_server_never_answers_on_its_public_address_while_it_converges(app3):
    counts = app3.probe["counts"]
    print(f"probed {', '.join(app3.probed)} port {app3.port} in {app3.probe['rounds']} rounds"
          f" over {app3.probe['seconds']} s: {counts}")
    # Every 100 ms through the failing first converge and the good one: hundreds of rounds.
    assert app3.probe["rounds"] >= 300, app3.probe
    assert set(counts) == {f"{address}:{app3.port}" for address in app3.probed}
    assert app3.probe["answers"] == [], app3.probe["answers"]
    assert all(count["answered"] == 0 for count in counts.values()), counts


def test_third_app_server_joins_the_upstream(app3, client, lab):
    # Its first converge (the one failing later, at the certificate) set app3 up; the second found it done.
    assert re.search(r"^app3\s+: ok=\d+\s+changed=[1-9]", app3.failed_first.stdout, re.M), app3.failed_first.stdout
    # It also gave the proxies the upstream with app3, but where it failed (the proxy that asks the CA)
    # it stopped before the handlers reloaded Nginx; the note it left there made the second converge
    # reload, although it found the configuration current.
    failed_there = set(re.findall(r"^(\S+)\s+: ok=\d+.*\sfailed=[1-9]", app3.failed_first.stdout, re.M))
    assert failed_there & set(lab.proxies), app3.failed_first.stdout[-2000:]
    assert {proxy for proxy, left in app3.reload_left.items() if left} == failed_there & set(lab.proxies)
    assert "an earlier run changed the live configuration but never reloaded Nginx" in " ".join(app3.converged.stdout.split())
    served = client.served_by(30)
    assert set(served) == {"app1", "app2", "app3"}, served


def test_draining_a_server_fails_no_request(app3, client, lab):
    client.start_polling()
    time.sleep(2)
    drained = run_playbook("molecule/default/proxy-config.yml", "-e", '{"nginx_proxy_upstream_drain": ["app1"]}',
                           inventories=WITH_APP3)
    time.sleep(2)
    polled = client.stop_polling()
    assert drained.returncode == 0, drained.stdout + drained.stderr

    failed = [entry for entry in polled if entry[0] != "200"]
    print(f"polled {len(polled)} requests during the drain, {len(failed)} failed")
    assert len(polled) >= 50, polled
    assert failed == []
    # The last requests, after the reload, never reach the drained server.
    assert "app1" not in {entry[1] for entry in polled[-10:]}, polled[-10:]
    assert set(client.served_by(20)) == {"app2", "app3"}

    undrained = run_playbook("molecule/default/proxy-config.yml", inventories=WITH_APP3)
    assert undrained.returncode == 0, undrained.stdout + undrained.stderr
    assert "app1" in client.served_by(20)
