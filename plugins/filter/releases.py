# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters rollback_release, recorded_history and images_to_prune: the django_app role's release history."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

from ansible_collections.djangoops.fleet.plugins.module_utils import _releases


def rollback_release(servers):
    """The release to roll back to, from [host, history, running] triples in play order; when
    there is none, ``target`` is empty and ``problem`` says why (for an assert with a clear message)."""
    if not is_sequence(servers) or not all(is_sequence(server) and len(server) == 3 for server in servers):
        raise AnsibleFilterError("rollback_release expects a list of [host, history, running image] triples")
    try:
        return _releases.rollback_release(
            [(str(host), [str(release) for release in history or []], str(running or "")) for host, history, running in servers]
        ).to_dict() | {"problem": ""}
    except _releases.RollbackError as error:
        return {"target": "", "leaving": "", "reference_host": "", "reason": "", "problem": str(error)}


def recorded_history(history, release, rollback=False, length=10):
    """The release history after ``release`` went live on a server."""
    if not is_sequence(history):
        raise AnsibleFilterError("recorded_history expects the history as a list of images")
    return _releases.recorded_history([str(r) for r in history], str(release), rollback=bool(rollback), length=int(length))


def images_to_prune(images, keep):
    """The image tags to remove so that, of the app's repositories, only the releases in ``keep`` stay."""
    if not is_sequence(images) or not all(isinstance(image, dict) for image in images) or not is_sequence(keep):
        raise AnsibleFilterError("images_to_prune expects a list of images (docker_host_info) and a list of releases to keep")
    return _releases.images_to_prune(images, [str(release) for release in keep if release])


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict:
        return {"rollback_release": rollback_release, "recorded_history": recorded_history, "images_to_prune": images_to_prune}
