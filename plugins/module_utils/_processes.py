# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app's processes besides the web (django_app_processes): what each kind is, which containers each
app server runs, and where the singletons run.

A kind is a command of the release image run in containers of its own: ``count`` per app server, or, for a
singleton (a scheduler), one container on one app server of the whole site. Singletons stay where they run
while that server is an app server of the inventory, and move to the first app server when it leaves;
what ran where is recorded on every app server (a *record*), so that a server that left the inventory is
still known and its process containers can be stopped."""

from __future__ import annotations

import json
import re
import shlex
import typing as t

VARIABLE = "django_app_processes"
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
SIGNAL_PATTERN = re.compile(r"^(SIG[A-Z0-9+-]+|[0-9]{1,2})$")
MEMORY_PATTERN = re.compile(r"^([0-9]+[bkmg]?)?$", re.I)
# Names the web's containers use (the app container is <name>, the standby <name>-standby).
RESERVED_KINDS = frozenset({"web", "standby"})
KEYS = frozenset({"name", "command", "count", "singleton", "cpus", "memory", "stop_signal", "stop_grace_period",
                  "healthcheck", "start_seconds"})
DEFAULTS: dict[str, t.Any] = {"count": 1, "singleton": False, "cpus": 0.0, "memory": "", "stop_signal": "SIGTERM",
                              "stop_grace_period": 30, "healthcheck": [], "start_seconds": 5}
LABEL_APP = "djangoops.fleet.app"
LABEL_PROCESS = "djangoops.fleet.process"
LABEL_GRACE = "djangoops.fleet.stop-grace-period"


def _words(value: t.Any, where: str) -> list[str]:
    """A command as Docker's exec form takes it: a list of words, or a text split as a shell would."""
    if isinstance(value, str):
        try:
            words = shlex.split(value)
        except ValueError as error:
            raise ValueError("%s: %s" % (where, error)) from None
    elif isinstance(value, (list, tuple)) and all(isinstance(word, (str, int, float)) for word in value):
        words = [str(word) for word in value]
    else:
        raise ValueError("%s must be a list of words (a program and its arguments) or one line of text" % where)
    if any("\n" in word or "\x00" in word for word in words):
        raise ValueError("%s must be one line" % where)
    return words


def _integer(value: t.Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]+", str(value).strip()):
        raise ValueError("%s must be a whole number %d-%d (got %r)" % (where, low, high, value))
    number = int(str(value).strip())
    if not low <= number <= high:
        raise ValueError("%s must be %d-%d (got %d)" % (where, low, high, number))
    return number


def _flag(value: t.Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("true", "yes", "1"):
        return True
    if str(value).strip().lower() in ("false", "no", "0"):
        return False
    raise ValueError("%s must be true or false (got %r)" % (where, value))


def kind(entry: t.Any, index: int) -> dict[str, t.Any]:
    """One kind with every field set, or ValueError naming the field and what to write instead."""
    where = "%s[%d]" % (VARIABLE, index)
    if not isinstance(entry, dict):
        raise ValueError("%s must be a mapping with at least name and command, e.g. {name: worker, command: "
                         "[celery, -A, mysite, worker]} (got %r)" % (where, entry))
    unknown = sorted(set(map(str, entry)) - KEYS)
    if unknown:
        raise ValueError("%s has unknown keys %s; the keys are %s" % (where, ", ".join(unknown), ", ".join(sorted(KEYS))))
    name = str(entry.get("name", ""))
    if not KIND_PATTERN.match(name) or len(name) > 30:
        raise ValueError("%s.name must be a short lower-case name (letters, digits, inner dashes; it names the "
                         "containers), e.g. worker (got %r)" % (where, entry.get("name")))
    if name in RESERVED_KINDS:
        raise ValueError("%s.name '%s' is the web's own: the web is the app container itself; pick another name" % (where, name))
    where = "%s[%d] (%s)" % (VARIABLE, index, name)
    result = dict(DEFAULTS, name=name)
    result["command"] = _words(entry.get("command"), where + ".command")
    if not result["command"] or not result["command"][0].strip():
        raise ValueError("%s.command must name the program to run, e.g. [celery, -A, mysite, worker]" % where)
    result["singleton"] = _flag(entry.get("singleton", False), where + ".singleton")
    result["count"] = _integer(entry.get("count", 1), where + ".count", 0, 64)
    if result["singleton"] and result["count"] > 1:
        raise ValueError("%s is a singleton: it runs once on the whole site, so its count must be 1 (or 0 to stop it)" % where)
    try:
        result["cpus"] = float(entry.get("cpus", 0) or 0)
    except (TypeError, ValueError):
        raise ValueError("%s.cpus must be a number of CPUs such as 0.5, or 0 for no limit" % where) from None
    if result["cpus"] < 0:
        raise ValueError("%s.cpus must be 0 (no limit) or more" % where)
    result["memory"] = str(entry.get("memory", "") or "")
    if not MEMORY_PATTERN.match(result["memory"]):
        raise ValueError("%s.memory must be a size such as 512m or 1g, 0 for no limit, or empty for django_app_memory"
                         " (got %r)" % (where, result["memory"]))
    result["stop_signal"] = str(entry.get("stop_signal", "SIGTERM")).strip().upper()
    if not SIGNAL_PATTERN.match(result["stop_signal"]):
        raise ValueError("%s.stop_signal must be a signal such as SIGTERM or SIGQUIT (got %r)" % (where, entry.get("stop_signal")))
    result["stop_grace_period"] = _integer(entry.get("stop_grace_period", 30), where + ".stop_grace_period", 0, 86400)
    result["start_seconds"] = _integer(entry.get("start_seconds", 5), where + ".start_seconds", 0, 600)
    # A line runs through the image's /bin/sh (Docker's CMD-SHELL), so that it may read $HOSTNAME.
    health = entry.get("healthcheck") or []
    if isinstance(health, str):
        if "\n" in health or "\x00" in health:
            raise ValueError("%s.healthcheck must be one line" % where)
        result["healthcheck"] = health.strip()
    else:
        result["healthcheck"] = _words(health, where + ".healthcheck")
    return result


def kinds(processes: t.Any) -> list[dict[str, t.Any]]:
    """Every kind of django_app_processes, checked (ValueError on the first problem)."""
    if processes is None:
        return []
    if not isinstance(processes, (list, tuple)):
        raise ValueError("%s must be a list of process kinds, e.g. [{name: worker, command: [celery, -A, mysite, "
                         "worker]}] (got %s)" % (VARIABLE, type(processes).__name__))
    found = [kind(entry, index) for index, entry in enumerate(processes)]
    names = [entry["name"] for entry in found]
    doubled = sorted({name for name in names if names.count(name) > 1})
    if doubled:
        raise ValueError("%s names %s more than once: each kind needs a name of its own" % (VARIABLE, ", ".join(doubled)))
    return found


def problems(processes: t.Any) -> list[str]:
    """The problem with django_app_processes, as a list of at most one message (for the role's checks)."""
    try:
        kinds(processes)
    except ValueError as error:
        return [str(error)]
    return []


def _record(value: t.Any) -> t.Any:
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _newest(records: t.Iterable[t.Any]) -> dict[str, t.Any]:
    """The record with the highest serial among those read from the app servers (as JSON texts or
    mappings; malformed ones skipped)."""
    best: dict[str, t.Any] = {}
    for record in map(_record, records):
        if not isinstance(record, dict) or not isinstance(record.get("serial"), int):
            continue
        if not best or record["serial"] > best["serial"]:
            best = record
    return best


def _name(container: t.Mapping[str, t.Any]) -> str:
    names = container.get("Names") or [container.get("Name", "")]
    return str(names[0]).lstrip("/")


def running_kinds(containers: t.Iterable[t.Any]) -> list[str]:
    """The process kinds of containers as Docker lists them (docker_host_info, verbose)."""
    found = []
    for container in containers or ():
        if isinstance(container, dict):
            kind_name = (container.get("Labels") or {}).get(LABEL_PROCESS)
            if kind_name:
                found.append(str(kind_name))
            continue
        found.append(str(container))
    return found


def to_remove(containers: t.Iterable[t.Any], wanted: t.Iterable[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The process containers Docker lists (docker_host_info, verbose) that are not wanted, each with the
    grace period it was started with (its label; 30 s where it has none)."""
    keep = {entry["container"] for entry in wanted}
    gone = []
    for container in containers or ():
        name = _name(container)
        if name and name not in keep:
            grace = str((container.get("Labels") or {}).get(LABEL_GRACE, "30"))
            gone.append({"name": name, "stop_grace_period": int(grace) if grace.isdigit() else 30})
    return gone


def placement(processes: t.Any, records: t.Iterable[t.Any], app_servers: t.Sequence[str],
              running: t.Mapping[str, t.Iterable[t.Any]], addresses: t.Mapping[str, str]) -> dict[str, t.Any]:
    """Where each singleton runs, which servers left the inventory with process containers, and the record
    to write. ``app_servers``: the inventory's app servers in order; ``running``: for the servers reached,
    their process containers (or the kinds they hold); ``addresses``: how to reach each app server (for
    the record). The record's serial moves only when what it says changes, so a run that changes nothing
    rewrites nothing; ``write`` says whether there is anything to record at all."""
    found = kinds(processes)
    running = {host: running_kinds(held) for host, held in running.items()}
    newest = _newest(records)
    inventory = list(app_servers)
    recorded = newest.get("singletons") if isinstance(newest.get("singletons"), dict) else {}
    singletons: dict[str, str] = {}
    for entry in found:
        if not entry["singleton"] or entry["count"] == 0 or not inventory:
            continue
        holder = recorded.get(entry["name"])
        if holder not in inventory:
            # Unrecorded (the first run, or a lost record): where it runs already, else the first app server.
            holders = [host for host in inventory if entry["name"] in set(running.get(host, ()))]
            holder = holders[0] if holders else inventory[0]
        singletons[entry["name"]] = holder
    recorded_hosts = newest.get("hosts") if isinstance(newest.get("hosts"), list) else []
    recorded_addresses = newest.get("addresses") if isinstance(newest.get("addresses"), dict) else {}
    departed = [host for host in recorded_hosts if isinstance(host, str) and host not in inventory]
    busy = [entry for entry in found if entry["count"] > 0]
    hosts = [host for host in inventory
             if any(not entry["singleton"] or singletons.get(entry["name"]) == host for entry in busy)]
    record = {"hosts": hosts, "singletons": singletons, "addresses": {host: str(addresses.get(host) or host) for host in hosts}}
    unchanged = all(newest.get(key) == value for key, value in record.items())
    record["serial"] = int(newest.get("serial", 0)) + (0 if newest and unchanged else 1)
    return {
        "singletons": singletons,
        "departed": [{"host": host, "address": str(recorded_addresses.get(host, host))} for host in departed],
        "record": record,
        "write": bool(newest) or bool(hosts),
    }


def containers(processes: t.Any, host: str, singletons: t.Mapping[str, str], app_name: str) -> list[dict[str, t.Any]]:
    """The process containers ``host`` runs: each kind's settings with the container's name (<app>-<kind>-<n>)
    and its host name's suffix (<kind>-<n>: each worker's own name where a worker names itself after its host,
    as Celery does)."""
    wanted = []
    for entry in kinds(processes):
        if entry["singleton"] and singletons.get(entry["name"]) != host:
            continue
        for number in range(1, entry["count"] + 1):
            suffix = "%s-%d" % (entry["name"], number)
            wanted.append(dict(entry, container="%s-%s" % (app_name, suffix), suffix=suffix))
    return wanted
