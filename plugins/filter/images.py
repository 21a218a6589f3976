# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters image_registry, registry_logins and registry_login_problems: which registry an image comes
from, and the logins of the site's registries (module_utils._images)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

from ansible_collections.djangoops.fleet.plugins.module_utils import _images


def image_registry(image):
    """The registry (host[:port], docker.io for Docker Hub) an image reference is pulled from."""
    if not isinstance(image, str) or not image.strip():
        raise AnsibleFilterError("image_registry expects an image reference such as ghcr.io/org/app:1.0")
    return _images.registry_of(image)


def registry_logins(logins, images=None):
    """The logins (registry, url, username, password) of the registries ``images`` come from; all of them
    when ``images`` is omitted. Check the logins with registry_login_problems first."""
    if _images.login_problems(logins):
        raise AnsibleFilterError("registry_logins: the logins are not valid; check them with registry_login_problems")
    if images is not None and not (is_sequence(images) and all(isinstance(image, str) for image in images)):
        raise AnsibleFilterError("registry_logins expects a list of image references")
    return _images.logins_for(logins, None if images is None else list(images))


def registry_login_problems(logins, variable="site_registry_logins"):
    """What is wrong with a list of registry logins, one line each, naming the entry (never its password)."""
    return _images.login_problems(logins, str(variable))


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict:
        return {"image_registry": image_registry, "registry_logins": registry_logins,
                "registry_login_problems": registry_login_problems}
