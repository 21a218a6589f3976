#!/usr/bin/python
# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet_lock
short_description: Take, renew or release the fleet lock (one run of the site's playbooks at a time)
version_added: 0.3.0
author:
  - djangoops.fleet developers (@djangoops)
description:
  - A lock file on one host of the fleet that says which run holds it (run id, controller, user, playbooks, process,
    since, last renewed). Taking it is atomic (the record is written whole, then hard-linked into place), so two runs
    cannot both hold it.
  - One attempt per call; the action plugin of the same name waits, retrying, and recognises a holder whose process
    on this controller is gone.
  - A lock whose last renewal is older than O(lease) seconds is broken (a run that was killed elsewhere), and so is
    one whose run id is in O(break_run_ids) or any lock with O(break_any).
options:
  path:
    description: The lock file.
    type: path
    default: /var/lib/djangoops/fleet.lock
  state:
    description:
      - V(present) takes the lock (the action plugin waits while another run holds it) or renews it when this run holds
        it.
      - V(renewed) renews this run's lock along the run, and fails when another run holds it (this run lost it, its
        lease ran out or it was broken).
      - V(absent) releases it when this run holds it.
    type: str
    choices: [present, renewed, absent]
    default: present
  holder:
    description:
      - This run (keys C(run_id), C(controller), C(user), C(pid), C(playbooks), C(since)). The action plugin fills it in
        from the controller; given by hand only in tests.
    type: dict
  lease:
    description: Seconds after its last renewal that a lock counts as left by a dead run.
    type: int
    default: 1800
  break_run_ids:
    description: Run ids whose lock may be broken at once (their process is known to be gone).
    type: list
    elements: str
    default: []
  break_any:
    description: Break whatever lock is there (C(site_lock_break)).
    type: bool
    default: false
  wait:
    description: Seconds the action plugin waits for a lock another run holds before failing, naming the holder.
    type: int
    default: 900
  poll:
    description: Seconds between the action plugin's attempts while it waits.
    type: int
    default: 5
extends_documentation_fragment:
  - djangoops.fleet._attributes
  - djangoops.fleet._attributes.ACTIONGROUP_FLEET
attributes:
  check_mode:
    support: full
    details: Reports who holds the lock and what would be done, and writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details: Taking a free lock and releasing one's own change the lock file; renewing only refreshes its time.
notes:
  - Playbooks use it through the action plugin (C(djangoops.fleet.fleet_lock)), which waits and names the holder.
"""

EXAMPLES = r"""
- name: Take the fleet lock (the action plugin waits for it)
  djangoops.fleet.fleet_lock:
    wait: 900
  become: true
"""

RETURN = r"""
outcome:
  description:
    - C(taken), C(renewed), C(broken) (taken after breaking a dead run's lock), C(held) (by another run), C(released),
      C(not_ours) (held by another run, left alone), C(free) (state absent, no lock) or C(lost) (state renewed, another
      run holds it).
  returned: always
  type: str
record:
  description: The lock's record after the call (the other run's when held).
  returned: when a lock exists
  type: dict
previous:
  description: The record of the lock that was broken.
  returned: when outcome is broken
  type: dict
"""

import datetime
import errno
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.djangoops.fleet.plugins.module_utils import _fleet_lock


def _read(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return _fleet_lock.decode(handle.read())
    except FileNotFoundError:
        return None


def _write_aside(path: str, record: dict, tag: str) -> str:
    """The record, whole, in a file next to the lock, ready to be linked or renamed into place."""
    aside = "%s.%s.%d" % (path, tag, os.getpid())
    with open(aside, "w", encoding="utf-8") as handle:
        handle.write(_fleet_lock.encode(record))
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(aside, 0o644)
    return aside


def _link_into_place(path: str, record: dict) -> bool:
    """Create the lock with its whole record; False when another run created it first."""
    aside = _write_aside(path, record, "new")
    try:
        os.link(aside, path)
        return True
    except OSError as error:
        if error.errno == errno.EEXIST:
            return False
        raise
    finally:
        os.unlink(aside)


def _break(path: str, seen: dict, ours: str) -> bool:
    """Move the lock seen aside, making sure it was that one and not a lock taken meanwhile."""
    moved = "%s.broken.%s" % (path, ours)
    try:
        os.rename(path, moved)
    except FileNotFoundError:
        return True  # gone already: taking it decides
    if _read(moved) != seen:
        # Another run broke the same lock and took it first: put its lock back.
        try:
            os.link(moved, path)
        except OSError:
            pass
        os.unlink(moved)
        return False
    os.unlink(moved)
    return True


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/var/lib/djangoops/fleet.lock"),
            state=dict(type="str", choices=["present", "renewed", "absent"], default="present"),
            holder=dict(type="dict"),
            lease=dict(type="int", default=1800),
            break_run_ids=dict(type="list", elements="str", default=[]),
            break_any=dict(type="bool", default=False),
            wait=dict(type="int", default=900),  # used by the action plugin
            poll=dict(type="int", default=5),  # used by the action plugin
        ),
        supports_check_mode=True,
    )
    path, holder = module.params["path"], module.params["holder"] or {}
    ours = str(holder.get("run_id") or "")
    if not ours:
        module.fail_json(msg="holder.run_id is required")
    now = datetime.datetime.now(datetime.timezone.utc)
    found = _read(path)

    if module.params["state"] == "absent":
        if found is None:
            module.exit_json(changed=False, outcome="free")
        if found.get("run_id") != ours:
            module.exit_json(changed=False, outcome="not_ours", record=found,
                             holder_text=_fleet_lock.describe(found, now))
        if not module.check_mode:
            os.unlink(path)
        module.exit_json(changed=True, outcome="released", record=found)

    renewing = module.params["state"] == "renewed"
    # In check mode the lock this run would have broken (a dead run's, or any with break_any) is still in the
    # file when the run renews: the renewal predicts that it holds the lock rather than failing.
    decision = _fleet_lock.decide(found, ours, now, module.params["lease"], module.params["break_run_ids"],
                                  module.params["break_any"] and (module.check_mode or not renewing))
    if renewing and module.check_mode and decision == "break":
        module.exit_json(changed=False, outcome="renewed", record=dict(holder, run_id=ours, renewed=_fleet_lock.stamp(now)))
    if renewing and decision not in ("take", "renew"):
        module.fail_json(msg=(
            "This run no longer holds the fleet lock (%s): %s holds it now. This run's lease ran out or its lock was"
            " broken; it stops here so that two runs do not change the fleet at once. Run again once that run is done."
            % (path, _fleet_lock.describe(found, now))), outcome="lost", record=found)
    if decision == "wait":
        module.exit_json(changed=False, outcome="held", record=found, holder_text=_fleet_lock.describe(found, now))

    record = dict(holder, run_id=ours, renewed=_fleet_lock.stamp(now))
    record.setdefault("since", _fleet_lock.stamp(now))
    if decision == "renew":
        record["since"] = found.get("since", record["since"])
        if not module.check_mode:
            os.rename(_write_aside(path, record, "renew"), path)
        module.exit_json(changed=False, outcome="renewed", record=record)

    if module.check_mode:
        module.exit_json(changed=True, outcome="broken" if decision == "break" else "taken", record=record,
                         previous=found if decision == "break" else None)
    os.makedirs(os.path.dirname(path) or "/", mode=0o755, exist_ok=True)
    if decision == "break" and not _break(path, found, ours):
        found = _read(path)
        module.exit_json(changed=False, outcome="held", record=found, holder_text=_fleet_lock.describe(found or {}, now))
    if not _link_into_place(path, record):
        found = _read(path)
        module.exit_json(changed=False, outcome="held", record=found, holder_text=_fleet_lock.describe(found or {}, now))
    if decision == "break":
        module.warn("broke the fleet lock left by %s" % _fleet_lock.describe(found, now))
    module.exit_json(changed=True, outcome="broken" if decision == "break" else "taken", record=record,
                     previous=found if decision == "break" else None)


if __name__ == "__main__":
    main()
