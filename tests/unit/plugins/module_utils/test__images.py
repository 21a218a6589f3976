# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which registry an image comes from, and which logins a server needs for the images it pulls."""

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils import _images


@pytest.mark.parametrize("image, registry", [
    ("nginx:1.28", "docker.io"),
    ("certbot/certbot:v5.8.0", "docker.io"),
    ("docker.io/library/python:3.13-slim", "docker.io"),
    ("index.docker.io/acme/app:1", "docker.io"),
    ("ghcr.io/acme/polls:1.4", "ghcr.io"),
    ("GHCR.IO/acme/polls:1.4", "ghcr.io"),
    ("registry.gitlab.com/acme/group/polls:main", "registry.gitlab.com"),
    ("10.87.0.21:5000/djangoops/polls:1.0.0", "10.87.0.21:5000"),
    ("localhost/polls:dev", "localhost"),
    ("localhost:5000/polls", "localhost:5000"),
    ("registry.example.com/polls@sha256:" + "a" * 64, "registry.example.com"),
    # A first path component without '.', ':' or localhost is a Docker Hub user, not a registry.
    ("acme-registry/polls:1", "docker.io"),
])
def test_the_registry_of_an_image_follows_dockers_rule(image, registry):
    assert _images.registry_of(image) == registry


@pytest.mark.parametrize("written, normal", [
    ("https://ghcr.io", "ghcr.io"),
    ("https://index.docker.io/v1/", "docker.io"),
    ("registry-1.docker.io", "docker.io"),
    ("Registry.Example.com:5000/", "registry.example.com:5000"),
    (" 10.87.0.21:5000 ", "10.87.0.21:5000"),
])
def test_a_registry_written_in_a_login_is_put_as_image_references_write_it(written, normal):
    assert _images.normal_registry(written) == normal


def test_docker_hub_is_logged_in_to_at_its_own_address():
    assert _images.login_url("docker.io") == "https://index.docker.io/v1/"
    assert _images.login_url("ghcr.io") == "ghcr.io"


LOGINS = [
    {"registry": "ghcr.io", "username": "acme-bot", "password": "ghp_token"},
    {"registry": "https://index.docker.io/v1/", "username": "acme", "password": "hub-token"},
    {"registry": "10.87.0.21:5000", "username": "puller", "password": "s3cret"},
]


def test_a_server_gets_the_logins_of_the_registries_of_its_images_only():
    chosen = _images.logins_for(LOGINS, ["ghcr.io/acme/polls:1.4", "nginx:1.28"])
    assert chosen == [
        {"registry": "ghcr.io", "url": "ghcr.io", "username": "acme-bot", "password": "ghp_token"},
        {"registry": "docker.io", "url": "https://index.docker.io/v1/", "username": "acme", "password": "hub-token"},
    ]


def test_every_login_when_no_image_is_named_and_none_for_images_of_other_registries():
    assert [login["registry"] for login in _images.logins_for(LOGINS, None)] == ["ghcr.io", "docker.io", "10.87.0.21:5000"]
    assert _images.logins_for(LOGINS, ["quay.io/acme/polls:1"]) == []
    assert _images.logins_for([], ["ghcr.io/acme/polls:1"]) == []


def test_well_formed_logins_have_no_problem():
    assert _images.login_problems(LOGINS) == []
    assert _images.login_problems([]) == []


@pytest.mark.parametrize("logins, problem", [
    ("ghcr.io", "site_registry_logins must be a list"),
    (["ghcr.io"], "site_registry_logins[0] must be a mapping"),
    ([{"registry": "ghcr io", "username": "u", "password": "p"}], "site_registry_logins[0].registry: 'ghcr io' is not a registry host"),
    ([{"registry": "", "username": "u", "password": "p"}], "site_registry_logins[0].registry: '' is not a registry host"),
    ([{"username": "u", "password": "p"}], "site_registry_logins[0].registry: None is not a registry host"),
    ([{"registry": "ghcr.io", "username": "", "password": "p"}], "site_registry_logins[0].username must be a user name on one line"),
    ([{"registry": "ghcr.io", "username": "u\nx", "password": "p"}], "site_registry_logins[0].username must be a user name on one line"),
    ([{"registry": "ghcr.io", "username": "u", "password": ""}], "site_registry_logins[0].password is required"),
    ([{"registry": "ghcr.io", "username": "u", "password": "p\nq"}], "site_registry_logins[0].password holds a line break"),
    ([{"registry": "ghcr.io", "username": "u", "password": "p", "token": "t"}], "site_registry_logins[0] has keys it does not know: token"),
    ([{"registry": "ghcr.io", "username": "u", "password": "p"}, {"registry": "https://GHCR.io/", "username": "v", "password": "q"}],
     "site_registry_logins[1].registry: ghcr.io is logged in to by site_registry_logins[0] already"),
])
def test_each_problem_of_a_login_names_the_entry(logins, problem):
    found = _images.login_problems(logins)
    assert any(line.startswith(problem) for line in found), found


def test_no_problem_shows_a_password():
    found = _images.login_problems([{"registry": "ghcr io", "username": "", "password": "hunter2\n", "extra": 1}])
    assert len(found) == 4 and not any("hunter2" in line for line in found), found


@pytest.mark.parametrize("user, root", [
    ("", True), (None, True), ("root", True), ("0", True), ("0:0", True), ("root:1000", True),
    ("app", False), ("10001:10001", False), ("app:0", False), ("65534", False),
])
def test_a_container_user_is_root_by_its_user_part_only(user, root):
    assert _images.is_root_user(user) is root
