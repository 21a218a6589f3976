# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The registry filters as the site role and the preflight call them."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.fleet.plugins.filter.images import (
    FilterModule,
    image_registry,
    registry_login_problems,
    registry_logins,
)

LOGINS = [{"registry": "ghcr.io", "username": "bot", "password": "token"},
          {"registry": "10.87.0.21:5000", "username": "puller", "password": "pw"}]


def test_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {"image_registry", "registry_logins", "registry_login_problems"}


def test_image_registry_names_the_registry_or_refuses_what_is_no_image() -> None:
    assert image_registry("ghcr.io/acme/polls:1") == "ghcr.io"
    assert image_registry("nginx:1.28") == "docker.io"
    for not_an_image in ("", "  ", None, ["nginx"]):
        with pytest.raises(AnsibleFilterError, match="image_registry expects an image reference"):
            image_registry(not_an_image)


def test_registry_logins_picks_by_image_and_returns_all_without_images() -> None:
    assert [login["registry"] for login in registry_logins(LOGINS, ["10.87.0.21:5000/djangoops/polls:1.0.0"])] == ["10.87.0.21:5000"]
    assert [login["registry"] for login in registry_logins(LOGINS)] == ["ghcr.io", "10.87.0.21:5000"]
    assert registry_logins([], ["nginx:1.28"]) == []


def test_registry_logins_refuses_bad_logins_without_showing_them() -> None:
    with pytest.raises(AnsibleFilterError, match="check them with registry_login_problems") as raised:
        registry_logins([{"registry": "ghcr.io", "username": "bot", "password": "secret\n"}])
    assert "secret" not in str(raised.value)
    with pytest.raises(AnsibleFilterError, match="expects a list of image references"):
        registry_logins(LOGINS, "ghcr.io/acme/polls:1")


def test_registry_login_problems_names_the_variable_given() -> None:
    assert registry_login_problems(LOGINS) == []
    assert registry_login_problems([{"registry": "ghcr.io"}], "logins") == [
        "logins[0].username must be a user name on one line",
        "logins[0].password is required (the password or an access token that may pull)",
    ]
