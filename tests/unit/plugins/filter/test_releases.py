# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The release history filters as the django_app role calls them."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.fleet.plugins.filter.releases import (
    FilterModule,
    recorded_history,
    rollback_release,
)


def test_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {"rollback_release", "recorded_history", "images_to_prune"}


def test_rollback_release_takes_the_role_s_triples() -> None:
    choice = rollback_release([("app1", ["a", "b"], "b"), ["app2", None, None]])
    assert choice == {"target": "a", "leaving": "b", "reference_host": "app1",
                      "reason": "b is the current release", "problem": ""}


def test_no_release_to_return_to_is_a_problem_not_an_exception() -> None:
    choice = rollback_release([("app1", ["a"], "a")])
    assert choice["target"] == ""
    assert choice["problem"] == "the release history of app1 holds no release before the current one (a is the current release): ['a']"


@pytest.mark.parametrize("servers", ["app1", [["app1", []]], [{"host": "app1", "history": [], "running": ""}]])
def test_rollback_release_input_errors(servers) -> None:
    with pytest.raises(AnsibleFilterError, match="rollback_release"):
        rollback_release(servers)


def test_recorded_history() -> None:
    assert recorded_history(["a"], "b", length="10") == ["a", "b"]
    assert recorded_history(["a", "b"], "a", True) == ["a"]
    with pytest.raises(AnsibleFilterError):
        recorded_history("a", "b")


def test_images_to_prune_takes_docker_host_info_images_and_the_releases_to_keep() -> None:
    images = [{"Id": "sha256:1", "RepoTags": ["r/polls:1.0"]}, {"Id": "sha256:2", "RepoTags": ["r/polls:1.1"]}]
    assert FilterModule().filters()["images_to_prune"](images, ["r/polls:1.1", ""]) == ["r/polls:1.0"]
    with pytest.raises(AnsibleFilterError, match="images_to_prune expects"):
        FilterModule().filters()["images_to_prune"]("r/polls:1.0", [])
