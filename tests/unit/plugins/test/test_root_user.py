# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for plugins/test/root_user.py: the image users django_app refuses (or warns of) before a release."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.fleet.plugins.test.root_user import TestModule, root_user


def test_registered():
    assert TestModule().tests() == {"root_user": root_user}


# What `docker image inspect --format '{{.Config.User}}'` shows for common images, and the --user values an
# inventory sets (django_app_user).
@pytest.mark.parametrize("user, expected", [
    ("", True),            # no USER line: Docker runs the command as root
    (None, True),          # an inspection without Config.User
    ("root", True),
    ("0", True),
    ("0:0", True),
    ("0:10001", True),     # the group does not make root any less root
    ("root:app", True),
    (" 0 ", True),
    ("00", True),          # uid 0 however it is written
    (0, True),             # an unquoted 0 in YAML
    ("app", False),        # examples/polls/Dockerfile: USER app
    ("10001", False),
    ("10001:10001", False),
    ("app:0", False),      # group root, user app
    ("nginx", False),
    ("rootless", False),   # a name that starts like root is not root
    ("1000:root", False),
])
def test_a_user_is_root_when_its_uid_is_0_or_it_is_unset(user, expected):
    assert root_user(user) is expected


def test_a_value_that_is_no_user_is_named():
    with pytest.raises(AnsibleFilterError, match="root_user expects a user"):
        root_user(["app"])
