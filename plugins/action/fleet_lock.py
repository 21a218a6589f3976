# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin for djangoops.fleet.fleet_lock.

Who this run is (controller, user, the ansible-playbook process, its playbooks) is only known on the
controller, and so is whether a holder that ran on this controller is still alive: the holder is
filled in here, and the module, one attempt per call, is retried here until the lock is taken or
``wait`` seconds have passed.
"""

from __future__ import annotations

import datetime
import getpass
import os
import socket
import time
import typing as t

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.djangoops.fleet.plugins.module_utils import _fleet_lock

display = Display()

_MODULE_OPTIONS = ("path", "state", "lease", "break_any")


def _cmdline(pid: int) -> list[str]:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return [part.decode(errors="replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return []


def _parent(pid: int) -> int:
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _started(pid: int) -> str:
    """When a process started, as seconds since boot in clock ticks (part of the run id), or ''."""
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, ValueError, IndexError):
        return ""


def _since(started: str) -> str:
    """When the run's process started, in UTC (boot time from /proc/stat plus its start in clock
    ticks); now where /proc cannot tell."""
    try:
        with open("/proc/stat", encoding="utf-8") as handle:
            boot = next(int(line.split()[1]) for line in handle if line.startswith("btime "))
        moment = boot + int(started) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, StopIteration):
        moment = time.time()
    return _fleet_lock.stamp(datetime.datetime.fromtimestamp(moment, datetime.timezone.utc))


def _is_ansible_playbook(argv: list[str]) -> bool:
    return any(os.path.basename(arg) == "ansible-playbook" for arg in argv[:2])


def run_process() -> tuple[int, list[str]]:
    """The ansible-playbook process of this run (the oldest ancestor that is one) and its command line;
    the parent process where /proc cannot tell."""
    found, argv = os.getppid(), _cmdline(os.getppid())
    pid = os.getpid()
    while pid > 1:
        command = _cmdline(pid)
        if _is_ansible_playbook(command):
            found, argv = pid, command
        pid = _parent(pid)
    return found, argv


def this_run() -> dict[str, t.Any]:
    pid, argv = run_process()
    controller = socket.gethostname()
    started = _started(pid)
    return {
        "run_id": _fleet_lock.run_id(controller, pid, started or str(pid)),
        "controller": controller,
        "user": getpass.getuser(),
        "pid": pid,
        "playbooks": _fleet_lock.playbooks_in(argv) if _is_ansible_playbook(argv) else [],
        "since": _since(started),
    }


def gone(record: t.Mapping[str, t.Any], controller: str) -> bool:
    """The holder ran on this controller and its ansible-playbook process is no longer there (a pid
    reused by another process has another start time, so another run id)."""
    if record.get("controller") != controller or not isinstance(record.get("pid"), int):
        return False
    pid = record["pid"]
    if not os.path.exists("/proc/%d" % pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    started = _started(pid)
    return bool(started) and _fleet_lock.run_id(controller, pid, started) != record.get("run_id")


class ActionModule(ActionBase):

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        wait = int(args.pop("wait", 900))
        poll = max(1, int(args.pop("poll", 5)))
        holder = this_run()
        module_args = {key: args[key] for key in _MODULE_OPTIONS if key in args}
        module_args["holder"] = holder
        unknown = sorted(set(args) - set(_MODULE_OPTIONS))
        if unknown:
            return {"failed": True, "msg": "fleet_lock: unknown options %s" % ", ".join(unknown)}

        deadline = time.monotonic() + wait
        told = 0.0
        while True:
            result = self._execute_module(module_name="djangoops.fleet.fleet_lock", module_args=module_args,
                                          task_vars=task_vars)
            record = result.get("record") or {}
            # A check-mode run's take only predicted breaking a dead run's lock, which is still in the file when
            # the run renews: the renewal is told to break it too, as the take would have (the module then
            # predicts holding the lock and writes nothing).
            if (self._play_context.check_mode and result.get("outcome") == "lost" and gone(record, holder["controller"])
                    and record.get("run_id") not in module_args.get("break_run_ids", [])):
                module_args["break_run_ids"] = [record.get("run_id")]
                continue
            if result.get("failed") or result.get("outcome") != "held":
                result["waited"] = int(wait - max(0.0, deadline - time.monotonic()))
                return result
            if gone(record, holder["controller"]) and record.get("run_id") not in module_args.get("break_run_ids", []):
                display.warning("fleet lock: %s is gone from this controller; breaking its lock" % result["holder_text"])
                module_args["break_run_ids"] = [record.get("run_id")]
                continue
            if self._play_context.check_mode:
                return dict(result, msg="fleet lock held by %s (check mode does not wait)" % result["holder_text"])
            if time.monotonic() >= deadline:
                return dict(result, failed=True, msg=(
                    "The fleet lock (%s on %s) is held by %s. Waited %d s (site_lock_wait). If that run is still going,"
                    " let it finish and run again. If it was killed, its lock expires %s s after its last renewal"
                    " (site_lock_lease); to break it now, run again with -e site_lock_break=true."
                    % (args.get("path", "/var/lib/djangoops/fleet.lock"), task_vars.get("inventory_hostname"),
                       result["holder_text"], wait, args.get("lease", 1800))))
            if time.monotonic() - told >= 30:
                display.display("fleet lock: held by %s; waiting (up to %d s more)"
                                % (result["holder_text"], max(0, int(deadline - time.monotonic()))))
                told = time.monotonic()
            time.sleep(poll)
