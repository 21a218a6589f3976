# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters process_problems (what is wrong with django_app_processes), process_placement (where the
singletons run, which servers left the inventory with process containers, the record to write) and
process_containers (the process containers one app server runs) and process_containers_to_remove (those it
runs and no longer should): module_utils._processes."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.fleet.plugins.module_utils import _processes


def _plain(value):
    """Ansible's lazy containers and tagged strings as plain Python values."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return value
    return str(value)


def process_problems(processes):
    """A list holding the problem with ``processes`` (django_app_processes), or an empty list."""
    return _processes.problems(_plain(processes))


def process_placement(processes, records, app_servers, running, addresses):
    """Where the singletons run, the servers that left the inventory, and the record to write."""
    try:
        return _processes.placement(_plain(processes), _plain(records or []), _plain(app_servers or []),
                                    _plain(running or {}), _plain(addresses or {}))
    except ValueError as error:
        raise AnsibleFilterError(str(error)) from error


def process_containers(processes, host, singletons, app_name):
    """The process containers ``host`` runs, each kind's settings with its container's name."""
    try:
        return _processes.containers(_plain(processes), str(host), _plain(singletons or {}), str(app_name))
    except ValueError as error:
        raise AnsibleFilterError(str(error)) from error


def process_containers_to_remove(containers, wanted):
    """The process containers Docker lists (docker_host_info, verbose) that ``wanted`` does not name."""
    return _processes.to_remove(_plain(containers or []), _plain(wanted or []))


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict:
        return {"process_problems": process_problems, "process_placement": process_placement,
                "process_containers": process_containers, "process_containers_to_remove": process_containers_to_remove}
