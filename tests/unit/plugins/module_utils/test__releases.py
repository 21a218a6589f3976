# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which release a rollback returns to, through the states deploys and rollbacks leave behind."""

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils._releases import (
    RollbackError,
    recorded_history,
    rollback_release,
)

V1, V2, V3 = "registry/polls:1.0", "registry/polls:1.1", "registry/polls:1.2"


def test_after_a_finished_deploy_the_release_before_it_is_the_target() -> None:
    choice = rollback_release([("app1", [V1, V2], V2), ("app2", [V1, V2], V2)])
    assert (choice.target, choice.leaving, choice.reference_host) == (V1, V2, "app1")


def test_after_a_deploy_that_failed_its_health_check_the_last_good_release_is_the_target() -> None:
    # app1 runs the broken release (never recorded), app2 was not reached.
    choice = rollback_release([("app1", [V1, V2], V3), ("app2", [V1, V2], V2)])
    assert (choice.target, choice.leaving) == (V2, V3)
    assert "app1 runs registry/polls:1.2, which never went live there" in choice.reason


def test_after_a_deploy_that_went_live_on_some_servers_only_it_is_left() -> None:
    # 1.1 passed on app1, then failed its health check on app2 (which still records 1.0 only).
    choice = rollback_release([("app1", [V1, V2], V2), ("app2", [V1], V2)])
    assert (choice.target, choice.leaving) == (V1, V2)


def test_a_rollback_interrupted_half_way_returns_to_the_same_release_when_run_again() -> None:
    # app1 already returned to 1.0 (history cut back), app2 was not reached.
    first = rollback_release([("app1", [V1, V2], V2), ("app2", [V1, V2], V2)])
    app1 = recorded_history([V1, V2], first.target, rollback=True, length=10)
    again = rollback_release([("app1", app1, first.target), ("app2", [V1, V2], V2)])
    assert again.target == first.target == V1 and again.reference_host == "app2"


def test_a_new_server_with_no_history_follows_the_others() -> None:
    choice = rollback_release([("app3", [], ""), ("app1", [V1, V2, V3], V3)])
    assert (choice.target, choice.reference_host) == (V2, "app1")


@pytest.mark.parametrize("servers", [
    [("app1", [V1], V1), ("app2", [V1], V1)],
    [("app1", [], ""), ("app2", [], "")],
    [("app1", [], V1)],
], ids=["one-release", "nothing-deployed", "deployed-before-histories"])
def test_no_release_to_return_to_is_an_error_naming_the_history(servers) -> None:
    with pytest.raises(RollbackError, match="holds no release before the current one"):
        rollback_release(servers)


def test_no_server_at_all_is_an_error() -> None:
    with pytest.raises(RollbackError):
        rollback_release([])


@pytest.mark.parametrize("history, release, rollback, length, expected", [
    ([], V1, False, 10, [V1]),
    ([V1], V2, False, 10, [V1, V2]),
    ([V1, V2], V2, False, 10, [V1, V2]),            # same release again: recorded once
    ([V1, V2, V3], V3, False, 2, [V1, V2, V3]),      # nothing new: not trimmed either
    ([V1, V2], V3, False, 2, [V2, V3]),             # trimmed to the length
    ([V1, V2], V3, False, 0, [V1, V2, V3]),         # 0 keeps everything
    ([V1, V2, V1, V2], V1, True, 10, [V1, V2, V1]),  # back to the last occurrence
    ([V1, V2], V2, True, 10, [V1, V2]),             # rollback onto the last good release: unchanged
    ([V2], V1, True, 10, [V2, V1]),                 # a server that never ran it
])
def test_recorded_history(history, release, rollback, length, expected) -> None:
    assert recorded_history(history, release, rollback=rollback, length=length) == expected
