# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which release a rollback returns to, through the states deploys and rollbacks leave behind."""

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils import _releases
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


# When a running image marks a deploy that stopped ("unfinished"): only on a server with a history
# that does not hold that image.

def test_a_server_with_no_history_does_not_name_the_release_to_leave() -> None:
    # app3 runs 1.0 but kept no history (set up before histories, or its file was lost): it tells
    # nothing about a stopped deploy, so the reference's current release 1.1 is left, not 1.0.
    choice = rollback_release([("app3", [], V1), ("app1", [V1, V2], V2)])
    assert (choice.target, choice.leaving, choice.reference_host) == (V1, V2, "app1")
    assert choice.reason == "registry/polls:1.1 is the current release"


def test_a_running_release_its_history_holds_is_not_unfinished() -> None:
    # app1 runs 1.1, which went live there before 1.2: not a stopped deploy, 1.2 is left.
    choice = rollback_release([("app1", [V1, V2, V3], V2), ("app2", [V1, V2, V3], V3)])
    assert (choice.target, choice.leaving) == (V2, V3)
    assert "never went live" not in choice.reason


def test_a_running_release_its_history_lacks_is_the_one_to_leave() -> None:
    choice = rollback_release([("app1", [V1, V2], V2), ("app2", [V1, V2], V3)])
    assert (choice.target, choice.leaving, choice.reference_host) == (V2, V3, "app1")
    assert choice.reason == "app2 runs registry/polls:1.2, which never went live there (a deploy stopped)"


def test_a_rollback_stopped_before_recording_is_finished_when_run_again() -> None:
    # The first run replaced app1's container with 1.0 and stopped before recording it (app1's
    # history still ends with 1.1); app2 was not reached. The second run returns to 1.0 as well.
    first = rollback_release([("app1", [V1, V2], V2), ("app2", [V1, V2], V2)])
    again = rollback_release([("app1", [V1, V2], first.target), ("app2", [V1, V2], V2)])
    assert (first.target, again.target, again.leaving) == (V1, V1, V2)
    # Once every server is back on 1.0 and has recorded it, 1.0 is the current release.
    done = [(host, recorded_history([V1, V2], V1, rollback=True, length=10), V1) for host in ("app1", "app2")]
    with pytest.raises(RollbackError, match=r"holds no release before the current one \(registry/polls:1.0 is"):
        rollback_release(done)


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


@pytest.mark.parametrize("reference, repository", [
    ("registry:5000/djangoops/polls:1.0.0", "registry:5000/djangoops/polls"),
    ("registry:5000/djangoops/polls@sha256:" + "a" * 64, "registry:5000/djangoops/polls"),
    ("polls", "polls"),
    ("ghcr.io/team/polls:1.2.3-rc1", "ghcr.io/team/polls"),
])
def test_image_repository(reference, repository):
    assert _releases.image_repository(reference) == repository


def test_only_the_images_no_kept_release_names_go():
    repo = "registry:5000/djangoops/polls"
    images = [
        {"Id": "sha256:1", "RepoTags": [f"{repo}:1.0.0"]},
        {"Id": "sha256:2", "RepoTags": [f"{repo}:1.1.0", f"{repo}:latest"]},  # kept by 1.1.0, latest stays with it
        {"Id": "sha256:3", "RepoTags": [f"{repo}:1.2.0", f"{repo}:broken"]},  # never went live: both tags go
        {"Id": "sha256:4", "RepoTags": [f"{repo}:0.9.0"], "RepoDigests": [f"{repo}@sha256:{'d' * 64}"]},  # kept by digest
        {"Id": "sha256:5", "RepoTags": ["registry:5000/djangoops/polls-deps:1.0.0"]},  # another repository
        {"Id": "sha256:6", "RepoTags": ["<none>:<none>"]},  # untagged
        {"Id": "sha256:7", "RepoTags": None},
    ]
    keep = [f"{repo}:1.1.0", f"{repo}@sha256:{'d' * 64}", f"{repo}:1.3.0"]
    assert _releases.images_to_prune(images, keep) == [f"{repo}:1.0.0", f"{repo}:1.2.0", f"{repo}:broken"]


def test_nothing_goes_when_nothing_is_kept():
    assert _releases.images_to_prune([{"RepoTags": ["polls:1.0.0"]}], []) == []
