# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters django_shell_command (the container command that runs a Python script through the app's
``manage.py shell -c`` on every Django version), manage_words (the words of a management command a user
asks for) and masked (a text with the site's secrets masked): module_utils._manage."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.collections import is_sequence

from ansible_collections.djangoops.fleet.plugins.module_utils import _manage


def django_shell_command(script, manage_command=("python", "manage.py"), name="djangoops"):
    """The container command (a list) that runs ``script`` (a text, or a list of texts run one after the
    other) through ``<manage_command> shell -c``."""
    words = list(manage_command) if is_sequence(manage_command) else manage_command
    scripts = [str(part) for part in script] if is_sequence(script) else str(script)
    try:
        return _manage.shell_command(words, scripts, str(name))
    except (TypeError, ValueError) as error:
        raise AnsibleFilterError("django_shell_command: %s" % error) from error


def manage_words(value, variable="django_app_manage_args"):
    """The words of a management command given as a text or a list of words; a clear error otherwise."""
    try:
        return _manage.command_words(list(value) if is_sequence(value) else value, str(variable))
    except ValueError as error:
        raise AnsibleFilterError(str(error)) from error


def masked(text, secrets):
    """``text`` with each of ``secrets`` replaced by ********."""
    if not is_sequence(secrets):
        raise AnsibleFilterError("masked: the secrets must be a list, not %s" % type(secrets).__name__)
    return _manage.masked("" if text is None else str(text), list(secrets))


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict:
        return {"django_shell_command": django_shell_command, "manage_words": manage_words, "masked": masked}
