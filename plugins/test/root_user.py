# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test root_user: does a container run as root with this user (an image's USER, or Docker's --user)?"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.fleet.plugins.module_utils import _images


def root_user(value) -> bool:
    """True for a user that makes a container run as root: empty (Docker's default), root or uid 0, any group."""
    if value is not None and not isinstance(value, (str, int)):
        raise AnsibleFilterError("root_user expects a user as Docker writes it (name or uid, optionally :group),"
                                 " got %s" % type(value).__name__)
    return _images.is_root_user(None if value is None else str(value))


class TestModule:
    """Ansible test plugin entry point."""

    def tests(self) -> dict:
        return {"root_user": root_user}
