"""One run at a time: two deploys started together take turns while the site serves; a run that cannot
wait fails naming the holder; a lock left by one lost elsewhere (its lease over) or broken on request is
recovered as the README says. (A lock left by a run killed on this controller: test_heal.py.)"""

from __future__ import annotations

import getpass
import json
import socket
import time

import pytest
import testinfra

from conftest import StartedPlaybook, run_playbook


pytestmark = pytest.mark.changes_lab

LOCK = "/var/lib/djangoops/fleet.lock"  # site_lock_path on site_lock_host, the first proxy


def _lock_host():
    return testinfra.get_host("docker://djangoops-lab-proxy1")


def _wait_for_the_lock(run: StartedPlaybook) -> dict:
    for _attempt in range(240):
        found = _lock_host().run(f"cat {LOCK}")
        if found.rc == 0 and found.stdout.strip():
            return json.loads(found.stdout)
        assert run.process.poll() is None, "the run ended before it took the lock: " + run.wait().stdout
        time.sleep(0.5)
    pytest.fail("the run never took the fleet lock")


def _foreign_lock(renewed_ago: int) -> None:
    """A lock as a run of another controller leaves it."""
    renewed = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - renewed_ago))
    record = {"run_id": "0123456789abcdef", "controller": "awx-node-2", "user": "carol", "pid": 77,
              "playbooks": ["playbooks/site.yml"], "since": renewed, "renewed": renewed}
    _lock_host().run(f"mkdir -p /var/lib/djangoops && echo %s > {LOCK}", json.dumps(record))


@pytest.fixture()
def no_lock_left():
    yield
    _lock_host().run(f"rm -f {LOCK}")


def test_two_deploys_started_together_take_turns_while_the_site_serves(client, lab, no_lock_left):
    client.start_polling(lab.proxy_addresses)
    first = StartedPlaybook("playbooks/deploy.yml")
    holder = _wait_for_the_lock(first)
    second = StartedPlaybook("playbooks/deploy.yml")
    first_run, second_run = first.wait(), second.wait()
    polled = client.stop_polling()

    assert first_run.returncode == 0, first_run.stdout
    assert second_run.returncode == 0, second_run.stdout
    assert holder["user"] == getpass.getuser() and holder["controller"] == socket.gethostname()
    assert holder["playbooks"][0].endswith("playbooks/deploy.yml"), holder
    # The second waited, said for whom, then ran.
    said = " ".join(second_run.stdout.split())
    assert f"fleet lock: held by {holder['user']}@{holder['controller']} running" in said, said
    assert f"run {holder['run_id']}" in said
    assert "Took the fleet lock after" in said
    failed = [entry for entry in polled if entry[0] != "200"]
    print(f"polled {len(polled)} requests while the two deploys ran, {len(failed)} failed")
    assert len(polled) >= 20 and failed == []
    assert _lock_host().run(f"test -e {LOCK}").rc == 1, "the lock was not released"


def test_a_run_that_cannot_wait_fails_naming_the_holder_and_breaks_it_on_request(no_lock_left):
    _foreign_lock(renewed_ago=5)
    # renew.yml takes the lock too (and is the shortest of the four playbooks that do).
    refused = run_playbook("playbooks/renew.yml", "-e", "site_lock_wait=3")
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0, said
    assert "is held by carol@awx-node-2 running playbooks/site.yml (process 77, run 0123456789abcdef)" in said, said
    assert "site_lock_break=true" in said
    # Nothing was done: the lock comes right after the checks.
    assert "TASK [Renew, copy to every proxy, reload where changed]" not in refused.stdout

    broken = run_playbook("playbooks/renew.yml", "-e", "site_lock_break=true")
    assert broken.returncode == 0, broken.stdout + broken.stderr
    assert "The lock left by carol@awx-node-2 (run 0123456789abcdef" in " ".join(broken.stdout.split())


def test_a_lock_whose_lease_ran_out_is_broken_by_the_next_run(no_lock_left):
    _foreign_lock(renewed_ago=120)
    run = run_playbook("playbooks/renew.yml", "-e", "site_lock_lease=60")
    assert run.returncode == 0, run.stdout + run.stderr
    said = " ".join((run.stdout + run.stderr).split())  # warnings go to stderr
    assert "broke the fleet lock left by carol@awx-node-2" in said, said
    assert _lock_host().run(f"test -e {LOCK}").rc == 1
