# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet lock: one run of site, deploy, rollback or renew at a time.

The lock is a file on one host of the fleet (``site_lock_host``), created with O_EXCL so that two
runs cannot both take it. It holds who took it: a run id, the controller, the user, the playbooks on
the command line, the controller's process id, when it was taken and when it was last renewed. A
run renews its lock as it goes; a lock not renewed for ``lease`` seconds was left by a run that was
killed or lost its controller, and is broken by the next run. So is a lock whose holder ran on the
same controller and whose process is gone, at once. ``site_lock_break`` breaks any lock.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import typing as t

# ansible-playbook options that take a value in the next argument (their --opt=value form needs no care).
_VALUE_OPTIONS = frozenset((
    "-i", "--inventory", "--inventory-file", "-e", "--extra-vars", "-l", "--limit", "-t", "--tags", "--skip-tags",
    "-u", "--user", "-f", "--forks", "-M", "--module-path", "--vault-id", "--vault-password-file",
    "--vault-pass-file", "-c", "--connection", "-T", "--timeout", "--ssh-common-args", "--sftp-extra-args",
    "--scp-extra-args", "--ssh-extra-args", "--private-key", "--key-file", "--become-user", "--become-method",
    "--start-at-task", "--become-password-file", "--connection-password-file", "--playbook-dir", "-P", "--poll",
    "-B", "--background",
))


def playbooks_in(argv: t.Sequence[str]) -> list[str]:
    """The playbooks named on an ansible-playbook command line: its positional arguments. Option
    values (an extra var with a secret in it, say) are never taken."""
    found: list[str] = []
    skip_next = False
    for arg in list(argv)[1:]:
        if skip_next:
            skip_next = False
        elif arg in _VALUE_OPTIONS:
            skip_next = True
        elif not arg.startswith("-") and not arg.endswith("ansible-playbook"):
            found.append(arg)
    return found


def run_id(controller: str, pid: int, process_start: str) -> str:
    """One id per ansible-playbook run: the same in every task of the run, never reused."""
    return hashlib.sha256(("%s:%d:%s" % (controller, pid, process_start)).encode()).hexdigest()[:16]


def _parse(stamp: str) -> datetime.datetime:
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe(record: t.Mapping[str, t.Any], now: datetime.datetime) -> str:
    """Who holds the lock, in words: user, controller, playbooks, since when, last renewed."""
    playbooks = " ".join(record.get("playbooks") or []) or "a playbook"
    words = "%s@%s running %s (process %s, run %s) since %s" % (
        record.get("user", "?"), record.get("controller", "?"), playbooks, record.get("pid", "?"),
        record.get("run_id", "?"), record.get("since", "?"))
    try:
        words += ", last renewed %d s ago" % int((now - _parse(record["renewed"])).total_seconds())
    except (KeyError, ValueError, TypeError):
        pass
    return words


def decide(record: t.Mapping[str, t.Any] | None, ours: str, now: datetime.datetime, lease: int,
           break_run_ids: t.Collection[str] = (), break_any: bool = False) -> str:
    """What a run does with the lock file it found: 'take' (none), 'renew' (its own), 'break' (a lock
    left by a dead run, or one it was told to break) or 'wait' (another live run holds it)."""
    if record is None:
        return "take"
    if record.get("run_id") == ours:
        return "renew"
    if break_any or record.get("run_id") in break_run_ids:
        return "break"
    try:
        renewed = _parse(record["renewed"])
    except (KeyError, ValueError, TypeError):
        return "break"  # not a lock this collection wrote whole: a run killed while writing it
    return "break" if (now - renewed).total_seconds() > lease else "wait"


def encode(record: t.Mapping[str, t.Any]) -> str:
    return json.dumps(dict(record), sort_keys=True) + "\n"


def decode(text: str) -> dict[str, t.Any]:
    """The lock file's record; an unreadable one as a record that decide() breaks."""
    try:
        record = json.loads(text)
    except ValueError:
        return {"run_id": None, "unreadable": text[:200]}
    return record if isinstance(record, dict) else {"run_id": None, "unreadable": text[:200]}
