# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker env files that hold secrets: rendered, compared and shown with the secrets masked.

A Docker ``--env-file`` is ``KEY=value`` per line, taken literally (no quotes, no expansion), so a
value may hold any character but a newline. Diffs show every key; values of keys not declared
public are replaced by a mask, and a changed secret is marked as changed without showing either
value.
"""

from __future__ import annotations

import re
import typing as t

MASK = "********"
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EnvFileError(ValueError):
    """Input that cannot become a Docker env file."""


def _text(value: t.Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"  # Django's and Python's spelling
    return "" if value is None else str(value)


def normalize(values: t.Mapping[str, t.Any]) -> dict[str, str]:
    """The variables as strings, in the given order; refuses what Docker would misread."""
    problems = []
    result: dict[str, str] = {}
    for key, value in values.items():
        text = _text(value)
        if not _KEY.match(str(key)):
            problems.append("%r is not a valid variable name (letters, digits and _, not starting with a digit)" % key)
        elif "\n" in text or "\r" in text or "\0" in text:
            problems.append("the value of %s contains a line break or NUL, which an env file cannot hold" % key)
        else:
            result[str(key)] = text
    if problems:
        raise EnvFileError("; ".join(problems))
    return result


def render(values: t.Mapping[str, str], header: str = "") -> str:
    lines = ["# " + line if line else "#" for line in header.splitlines()]
    lines += ["%s=%s" % (key, value) for key, value in values.items()]
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, str]:
    """Variables of an env file as Docker reads it (comments and blank lines skipped)."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if sep:
            result[key] = value
    return result


def changed_keys(before: t.Mapping[str, str], after: t.Mapping[str, str]) -> list[str]:
    """Keys added, removed or given another value, in a stable order."""
    keys = list(after) + [key for key in before if key not in after]
    return [key for key in keys if before.get(key) != after.get(key)]


def masked(values: t.Mapping[str, str], public_keys: t.Collection[str], changed: t.Collection[str] = ()) -> str:
    """The file as a diff may show it: public values in clear, the others masked."""
    lines = []
    for key, value in values.items():
        if key in public_keys:
            lines.append("%s=%s" % (key, value))
        else:
            lines.append("%s=%s%s" % (key, MASK, " (changed)" if key in changed else ""))
    return "\n".join(lines) + "\n"
