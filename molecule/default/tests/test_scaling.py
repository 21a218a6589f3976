"""Scaling out and draining: a third app server joins the upstream by inventory alone, and a
drained server leaves the rotation while a client polling the site sees no failed request."""

from __future__ import annotations

import re
import time

import pytest

from conftest import run_playbook


pytestmark = pytest.mark.changes_lab

WITH_APP3 = ("inventories/lab", "tests/lab/inventory-app3.yml")


def _served_by(client, lab, count: int) -> list[str]:
    loop = (
        f"for i in $(seq 1 {count}); do curl -sS -o /dev/null -D - --cacert /lab/pki/pebble-production-root.pem"
        f" --resolve {lab.domain}:443:{lab.proxy_public} https://{lab.domain}/polls/; done"
    )
    return re.findall(r"(?im)^x-served-by:\s*(\S+)", client.run(loop).stdout)


@pytest.fixture(scope="module")
def app3(lab):
    """Create app3 in the lab and converge with it; afterwards converge the proxies back without it."""
    created = run_playbook("tests/lab/up.yml", inventories=WITH_APP3)
    assert created.returncode == 0, created.stdout + created.stderr
    # Only the new server and the proxies (whose upstream gains it) have anything to do.
    converged = run_playbook("playbooks/site.yml", "--limit", "app3,nginx_proxy,localhost", inventories=WITH_APP3)
    assert converged.returncode == 0, converged.stdout + converged.stderr
    yield converged
    # The upstream without app3 (the container stays until the lab is torn down, out of the inventory).
    restored = run_playbook("playbooks/site.yml", "--limit", "nginx_proxy,localhost")
    assert restored.returncode == 0, restored.stdout + restored.stderr


def test_third_app_server_joins_the_upstream(app3, client, lab):
    assert re.search(r"^app3\s+: ok=\d+\s+changed=[1-9]", app3.stdout, re.M), app3.stdout
    served = _served_by(client, lab, 30)
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
    assert set(_served_by(client, lab, 20)) == {"app2", "app3"}

    undrained = run_playbook("molecule/default/proxy-config.yml", inventories=WITH_APP3)
    assert undrained.returncode == 0, undrained.stdout + undrained.stderr
    assert "app1" in _served_by(client, lab, 20)
