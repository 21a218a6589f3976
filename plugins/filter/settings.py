# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter setting_problems: the preflight's judgement of setting values (module_utils._settings)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

from ansible_collections.djangoops.fleet.plugins.module_utils import _settings


def setting_problems(settings):
    """Problems of ``{variable: [kind, value]}``, one line each, naming the variable."""
    if not isinstance(settings, dict) or not all(is_sequence(pair) and len(pair) == 2 for pair in settings.values()):
        raise AnsibleFilterError("setting_problems expects a dict of variable names to [kind, value] pairs")
    try:
        return _settings.problems({name: (pair[0], list(pair[1]) if is_sequence(pair[1]) else pair[1])
                                   for name, pair in settings.items()})
    except _settings.UnknownKind as error:
        raise AnsibleFilterError(str(error)) from error


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict:
        return {"setting_problems": setting_problems}
