# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command lines of the release's one-off steps: Python scripts run by the app's own
``manage.py shell -c`` (filter django_shell_command), the same way on every Django version; the words of a
management command a user asks for (playbooks/manage.yml, filter manage_words), and its output with the
site's secrets masked (filter masked)."""

from __future__ import annotations

import re
import shlex
import typing as t

MASK = "********"
# A management command's first word: a command name as Django's own and apps' commands are named.
_COMMAND_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


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


def command_words(value: t.Any, variable: str = "django_app_manage_args") -> list[str]:
    """The words of a management command asked for as one text (split as a POSIX shell would, no shell
    runs it) or as a list of words: the command's name first, then its arguments. Raises ValueError,
    naming ``variable``, for anything else."""
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError as error:
            raise ValueError("%s: %s in %r; quote arguments as a shell would, or give a list of words" % (variable, error, value)) from error
    elif isinstance(value, (list, tuple)) and all(isinstance(word, str) for word in value):
        words = list(value)
    else:
        raise ValueError("%s must be a management command, as text ('clearsessions') or a list of words"
                         " (['createsuperuser', '--noinput']); got %r" % (variable, value))
    if not words or not words[0].strip():
        raise ValueError("%s is empty: give the management command to run, such as clearsessions (-e %s=clearsessions)" % (variable, variable))
    if not _COMMAND_NAME.match(words[0]):
        raise ValueError("%s must start with the name of a management command (such as clearsessions or migrate),"
                         " not %r: manage.py runs it with the app's settings" % (variable, words[0]))
    if any("\x00" in word for word in words):
        raise ValueError("%s holds a NUL character" % variable)
    return words


def masked(text: str, secrets: t.Iterable[t.Any]) -> str:
    """``text`` with every occurrence of each secret replaced by MASK, longest first (so that a secret
    containing another is masked whole). Empty values mask nothing."""
    values = sorted({str(secret) for secret in secrets if secret is not None and str(secret) != ""}, key=len, reverse=True)
    for value in values:
        text = text.replace(value, MASK)
    return text
