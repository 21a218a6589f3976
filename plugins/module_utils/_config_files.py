# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A directory of configuration files written in one module run: which directories and files a run
must create or rewrite, worked out from what is on disk (read through callables, so the logic is
tested without a file system).

Private to this collection (leading underscore): no stability promise to other collections.
"""

from __future__ import annotations

import posixpath
import typing as t


class ConfigFilesError(ValueError):
    """Input that does not name files inside the directory."""


def check_names(names: t.Iterable[str]) -> list[str]:
    """The file names, relative to the directory, sorted; refuses names that are empty, absolute, not
    in normal form (``./a``, ``a//b``, a trailing ``/``) or reach outside the directory, naming each."""
    problems = []
    result = []
    for name in names:
        if not name or name.startswith("/") or posixpath.normpath(name) != name or name.split("/")[0] == "..":
            problems.append("%r is not a file name inside the directory (relative, in normal form, no '..')" % name)
        else:
            result.append(name)
    if problems:
        raise ConfigFilesError("; ".join(problems))
    return sorted(result)


def directories(root: str, names: t.Iterable[str], extra: t.Iterable[str] = ()) -> list[str]:
    """Every directory the files need (``root`` and the ones between it and each file), then the
    ``extra`` ones, each once, parents before children."""
    wanted = {root}
    for name in names:
        parent = posixpath.dirname(name)
        while parent:
            wanted.add(posixpath.join(root, parent))
            parent = posixpath.dirname(parent)
    wanted.update(posixpath.normpath(path) for path in extra)
    return sorted(wanted, key=lambda path: (path.count("/"), path))


def missing_parents(path: str, exists: t.Callable[[str], bool]) -> list[str]:
    """The components of ``path`` that do not exist yet, outermost first (what ``mkdir -p`` creates)."""
    missing = []
    while path not in ("", "/") and not exists(path):
        missing.append(path)
        path = posixpath.dirname(path)
    return list(reversed(missing))


def changed_files(root: str, files: t.Mapping[str, str], read: t.Callable[[str], t.Optional[str]]) -> list[str]:
    """The names (sorted) whose file is missing or holds other content than ``files`` gives it."""
    return [name for name in check_names(files) if read(posixpath.join(root, name)) != files[name]]
