# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command lines of the release's one-off steps: Python scripts run by the app's own
``manage.py shell -c`` (filter django_shell_command), the same way on every Django version."""

from __future__ import annotations

import typing as t


def shell_command(manage_command: t.Sequence[str], script: str | t.Sequence[str], name: str = "djangoops") -> list[str]:
    """The argv that runs ``script`` (one text, or several run one after the other in one namespace)
    through ``<manage_command> shell -c``.

    Up to Django 3.1, ``shell -c`` runs its command with ``exec(command)`` inside a method: the script's
    top-level imports land in that method's locals, where the script's own functions cannot see them
    (NameError); later versions give it module globals. So the command is not the script itself but one
    expression that compiles the script and runs it in a namespace of its own, where imports, functions
    and globals are one dictionary on every version. The script travels as a Python string literal
    (repr): no quoting of a shell or of Docker applies to it."""
    if not isinstance(manage_command, (list, tuple)) or not manage_command \
            or not all(isinstance(word, str) and word.strip() for word in manage_command):
        raise ValueError("the manage command must be a non-empty list of words, such as ['python', 'manage.py'];"
                         " got %r" % (manage_command,))
    if isinstance(script, (list, tuple)) and all(isinstance(part, str) for part in script):
        script = "\n".join(script)
    if not isinstance(script, str):
        raise TypeError("the script must be Python source text or a list of them, not %s" % type(script).__name__)
    wrapper = 'exec(compile(%r, %r, "exec"), {"__name__": "__djangoops__"})' % (script, "<djangoops %s>" % name)
    return [*manage_command, "shell", "-c", wrapper]
