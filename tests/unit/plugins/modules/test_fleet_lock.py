# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run the fleet_lock module for real against a lock file in a temp dir: two runs never both hold it,
a dead run's lock is broken, only the holder releases it, check mode writes nothing."""

from __future__ import annotations

import concurrent.futures
import json


def _holder(run_id: str) -> dict:
    return {"run_id": run_id, "controller": "ctl1", "user": "alice", "pid": 4242, "playbooks": ["playbooks/deploy.yml"],
            "since": "2026-12-02T02:50:00Z"}


def _run(run_module, path, run_id, check_mode=False, **options) -> dict:
    args = {"path": str(path), "holder": _holder(run_id), "_ansible_check_mode": check_mode, **options}
    return run_module("fleet_lock", args)[1]


def test_take_renew_wait_release(tmp_path, run_module) -> None:
    lock = tmp_path / "fleet.lock"
    first = _run(run_module, lock, "run-a")
    assert first["changed"] and first["outcome"] == "taken"
    assert json.loads(lock.read_text())["run_id"] == "run-a"
    assert _run(run_module, lock, "run-a")["outcome"] == "renewed"
    held = _run(run_module, lock, "run-b")
    assert held["outcome"] == "held" and not held["changed"]
    assert held["holder_text"].startswith("alice@ctl1 running playbooks/deploy.yml (process 4242, run run-a)")
    # Only the holder releases it.
    assert _run(run_module, lock, "run-b", state="absent")["outcome"] == "not_ours" and lock.exists()
    assert _run(run_module, lock, "run-a", state="absent")["outcome"] == "released" and not lock.exists()
    assert _run(run_module, lock, "run-b")["outcome"] == "taken"


def test_a_dead_run_s_lock_is_broken_and_reported(tmp_path, run_module) -> None:
    lock = tmp_path / "fleet.lock"
    lock.write_text(json.dumps(dict(_holder("dead"), renewed="2026-01-01T00:00:00Z")))
    taken = _run(run_module, lock, "run-b", lease=60)
    assert taken["outcome"] == "broken" and taken["previous"]["run_id"] == "dead"
    assert json.loads(lock.read_text())["run_id"] == "run-b"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fleet.lock"]  # nothing left aside


def test_breaking_on_request(tmp_path, run_module) -> None:
    lock = tmp_path / "fleet.lock"
    _run(run_module, lock, "run-a")
    assert _run(run_module, lock, "run-b", break_run_ids=["run-a"])["outcome"] == "broken"
    assert _run(run_module, lock, "run-c", break_any=True)["outcome"] == "broken"
    assert json.loads(lock.read_text())["run_id"] == "run-c"


def test_check_mode_writes_nothing(tmp_path, run_module) -> None:
    lock = tmp_path / "fleet.lock"
    result = _run(run_module, lock, "run-a", check_mode=True)
    assert result["changed"] and result["outcome"] == "taken" and not lock.exists()


def test_many_runs_at_once_one_holder(tmp_path, run_module) -> None:
    lock = tmp_path / "fleet.lock"
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda n: _run(run_module, lock, "run-%d" % n)["outcome"], range(8)))
    assert sorted(outcomes) == ["held"] * 7 + ["taken"]


def test_many_runs_breaking_one_dead_lock_at_once_one_holder(tmp_path, run_module) -> None:
    lock = tmp_path / "fleet.lock"
    lock.write_text(json.dumps(dict(_holder("dead"), renewed="2026-01-01T00:00:00Z")))
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda n: _run(run_module, lock, "run-%d" % n, lease=60)["outcome"], range(8)))
    # One run breaks it; it or a run that finds the place empty meanwhile takes it; the others wait.
    assert outcomes.count("broken") + outcomes.count("taken") == 1 and outcomes.count("held") == 7, outcomes
    assert json.loads(lock.read_text())["run_id"] in {"run-%d" % n for n in range(8)}


def test_renewing_a_lock_another_run_took_fails_and_a_missing_one_is_taken_again(tmp_path, run_module) -> None:
    lock = tmp_path / "fleet.lock"
    _run(run_module, lock, "run-a")
    assert _run(run_module, lock, "run-a", state="renewed")["outcome"] == "renewed"
    lost = _run(run_module, lock, "run-b", state="renewed")
    assert lost["failed"] and lost["outcome"] == "lost"
    assert "run run-a" in lost["msg"] and "no longer holds the fleet lock" in lost["msg"]
    # Renewing never breaks another run's lock, even when told to break locks.
    assert _run(run_module, lock, "run-b", state="renewed", break_any=True)["outcome"] == "lost"
    lock.unlink()
    assert _run(run_module, lock, "run-b", state="renewed")["outcome"] == "taken"


def test_a_check_mode_run_renews_the_lock_it_would_have_broken_and_writes_nothing(tmp_path, run_module) -> None:
    """A check-mode run after a failed or killed one: its take predicted breaking the dead run's lock but left
    the file as it was, so its renewals find that lock; they predict holding it instead of failing."""
    lock = tmp_path / "fleet.lock"
    _run(run_module, lock, "dead")
    before = lock.read_text()
    assert _run(run_module, lock, "run-b", check_mode=True, break_run_ids=["dead"])["outcome"] == "broken"
    renewed = _run(run_module, lock, "run-b", check_mode=True, state="renewed", break_run_ids=["dead"])
    assert renewed["outcome"] == "renewed" and not renewed["changed"]
    assert _run(run_module, lock, "run-c", check_mode=True, state="renewed", break_any=True)["outcome"] == "renewed"
    assert lock.read_text() == before
    # Outside check mode a renewal still fails when another run holds the lock, break_any or not.
    lost = _run(run_module, lock, "run-b", state="renewed", break_any=True)
    assert lost["failed"] and lost["outcome"] == "lost"
    # In check mode too, when the holder is alive and nothing says to break it.
    assert _run(run_module, lock, "run-b", check_mode=True, state="renewed")["outcome"] == "lost"
