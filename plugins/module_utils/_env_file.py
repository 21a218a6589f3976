# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker env files that hold secrets: rendered, compared and shown with the secrets masked.

A Docker ``--env-file`` is ``KEY=value`` per line, taken literally (no quotes, no expansion), so a
value may hold any character but a newline. Diffs show every key; values of keys not declared
public are replaced by a mask, and a changed secret is marked as changed without showing either
value.

Secrets may instead go to files of their own (``secret_files_*``): one root-owned file per secret in a
directory the app's group may read, mounted into the containers; the env file then holds
``KEY_FILE=<mount>/KEY``, a path, so that ``docker inspect`` shows no secret.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import re
import shutil
import stat
import tempfile
import typing as t

MASK = "********"
FILE_SUFFIX = "_FILE"
SECRET_FILE_MODE = 0o440
SECRET_DIR_MODE = 0o750
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


# --- Secrets as files -------------------------------------------------------------------------------

def file_settings(secrets: t.Mapping[str, str], mount: str, taken: t.Collection[str]) -> dict[str, str]:
    """``KEY_FILE=<mount>/KEY`` for each secret, in order; refuses a name the env file already has."""
    if not mount.startswith("/") or any(char.isspace() for char in mount):
        raise EnvFileError("the secret files' mount path %r must be absolute, without spaces" % mount)
    result = {key + FILE_SUFFIX: posixpath.join(mount, key) for key in secrets}
    clashes = sorted(set(result) & set(taken))
    if clashes:
        raise EnvFileError("%s would be set twice: once by the settings, once as the path of a secret file;"
                           " rename the setting" % ", ".join(clashes))
    return result


@dataclasses.dataclass(frozen=True)
class SecretFile:
    """A file of the secrets directory as found: its content and what guards it."""

    content: bytes
    uid: int
    gid: int
    mode: int


@dataclasses.dataclass(frozen=True)
class SecretDirectory:
    """The secrets directory as found, or as it is to be."""

    uid: int
    gid: int
    mode: int
    files: dict[str, SecretFile]
    others: tuple[str, ...] = ()  # entries that are not regular files (removed when the directory is managed)


def read_secret_directory(path: str) -> SecretDirectory | None:
    """The directory's state, None when it does not exist. Symbolic links are not followed."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(info.st_mode):
        raise EnvFileError("%s exists and is not a directory: remove it, the secret files go there" % path)
    files: dict[str, SecretFile] = {}
    others = []
    for name in sorted(os.listdir(path)):
        entry = os.path.join(path, name)
        entry_info = os.lstat(entry)
        if not stat.S_ISREG(entry_info.st_mode):
            others.append(name)
            continue
        with open(entry, "rb") as handle:
            files[name] = SecretFile(handle.read(), entry_info.st_uid, entry_info.st_gid, stat.S_IMODE(entry_info.st_mode))
    return SecretDirectory(info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode), files, tuple(others))


def wanted_secret_directory(secrets: t.Mapping[str, str], *, uid: int, gid: int) -> SecretDirectory:
    """What the directory should hold: a file per secret, its value without a newline, readable by the group."""
    files = {key: SecretFile(value.encode("utf-8"), uid, gid, SECRET_FILE_MODE) for key, value in secrets.items()}
    return SecretDirectory(uid, gid, SECRET_DIR_MODE, files)


def secret_file_changes(before: SecretDirectory | None, after: SecretDirectory | None) -> list[str]:
    """Names of the files added, removed, or changed in content, owner, group or mode ("." for the directory)."""
    old = before.files if before else {}
    new = after.files if after else {}
    changes = []
    if (before is None) != (after is None) or (
            before and after and ((before.uid, before.gid, before.mode) != (after.uid, after.gid, after.mode) or before.others)):
        changes.append(".")
    for name in list(new) + [name for name in old if name not in new]:
        if old.get(name) != new.get(name):
            changes.append(name)
    return changes


def masked_files(directory: SecretDirectory | None, path: str, changed: t.Collection[str] = ()) -> str:
    """The secret files as a diff may show them: names, owner, group and mode; every content masked."""
    if directory is None:
        return ""
    lines = ["%s/ %d:%d %04o" % (path, directory.uid, directory.gid, directory.mode)]
    for name, entry in directory.files.items():
        mark = " (changed)" if name in changed else ""
        lines.append("%s/%s %d:%d %04o %s%s" % (path, name, entry.uid, entry.gid, entry.mode, MASK, mark))
    return "\n".join(lines) + "\n"


def write_secret_directory(path: str, wanted: SecretDirectory, found: SecretDirectory | None) -> None:
    """Make the directory hold exactly ``wanted``: each changed file written through a temporary file of mode 0400 and
    moved into place (never readable by another user on the way), files no longer secret removed."""
    if found is None:
        os.mkdir(path, 0o700)
    os.chown(path, wanted.uid, wanted.gid)
    os.chmod(path, wanted.mode)
    for name in found.others if found else ():
        entry = os.path.join(path, name)
        if os.path.isdir(entry) and not os.path.islink(entry):
            shutil.rmtree(entry)
        else:
            os.unlink(entry)
    for name, entry in wanted.files.items():
        if found is not None and found.files.get(name) == entry:
            continue
        descriptor, temporary = tempfile.mkstemp(dir=path, prefix=".secret-")  # mode 0600, owned by us
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(entry.content)
                os.fchmod(handle.fileno(), 0o400)
                os.fchown(handle.fileno(), entry.uid, entry.gid)
                os.fchmod(handle.fileno(), entry.mode)
            os.replace(temporary, os.path.join(path, name))
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    for name in found.files if found else ():
        if name not in wanted.files:
            os.unlink(os.path.join(path, name))


def owner_uid(owner: str | None) -> int:
    """The uid of a user name or number; the process's own when none is given."""
    if owner is None or owner == "":
        return os.geteuid()
    if str(owner).isdigit():
        return int(owner)
    import pwd  # not at import time: module_utils are imported on the controller too

    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise EnvFileError("the owner %r is no user of this host" % owner) from None


def remove_secret_directory(path: str) -> None:
    shutil.rmtree(path)
