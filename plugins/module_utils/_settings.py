# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Private to this collection (leading underscore): no compatibility promise.

"""The preflight's judgement of single setting values, by the kind of file they land in.

Each check takes a value and returns ``None`` when it is fine, or a short text saying what is wrong
and what to write instead. A value that reaches an Nginx file, the env file, UFW's after.rules, a
unit or cron file, or Python source must not be able to change that file's structure: separators,
braces, quotes, newlines and control characters are refused where the kind has no use for them.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import typing as t

from ansible_collections.djangoops.fleet.plugins.module_utils import _resolve

Check = t.Callable[[t.Any], t.Optional[str]]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A DNS name (RFC 1123 labels), optionally with a leading wildcard label.
_DNS_NAME = re.compile(r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_NGINX_SIZE = re.compile(r"^[0-9]+[kKmMgG]?$")
_NGINX_RATE = re.compile(r"^[0-9]+r/[sm]$")
_NGINX_TIME = re.compile(r"^[0-9]+(ms|s|m|h)?$")
_NGINX_BUFFERS = re.compile(r"^[1-9][0-9]* [1-9][0-9]*[kKmM]?$")
_ACME_PREFIX = "/.well-known/acme-challenge/"
_URL_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,=:@%/-]*$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Docker's forms: a memory limit (empty or 0: none), a tmpfs size, a tmpfs mount, a capability, a --user.
_DOCKER_MEMORY = re.compile(r"^([0-9]+[bkmgBKMG]?)?$")
_TMPFS_SIZE = re.compile(r"^[0-9]+[kmgKMG]?$")
_TMPFS_MOUNT = re.compile(r"^/[^:\s]*(:[^\s]+)?$")
_CAPABILITY = re.compile(r"^(ALL|(CAP_)?[A-Za-z_]+)$")
_DOCKER_USER = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?)?$")
_CHECK_ID = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*\.[A-Z][0-9]{3}$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LINEAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Directories the system owns: a role that makes its directory 0700 root's must never be given one.
SYSTEM_DIRECTORIES = frozenset((
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media", "/mnt", "/opt",
    "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/etc/ssl", "/etc/ssh",
    "/etc/systemd", "/etc/docker", "/usr/bin", "/usr/lib", "/usr/local", "/usr/local/bin", "/usr/sbin", "/var/lib",
    "/var/lib/docker", "/var/log", "/var/run", "/var/tmp", "/var/www",
))


def _text(value: t.Any) -> str | None:
    return value if isinstance(value, str) else None


def dns_name(value: t.Any) -> str | None:
    text = _text(value)
    if text is None or not _DNS_NAME.match(text):
        return "%r is not a DNS name (letters, digits and '-' in dot-separated labels, a leading '*.' allowed, no spaces)" % (value,)
    return None


def django_host(value: t.Any) -> str | None:
    """An entry of Django's ALLOWED_HOSTS: a DNS name, or '.example.com' for a domain and its subdomains."""
    text = _text(value)
    if text == "*" or (text is not None and text.startswith(".") and dns_name(text[1:]) is None):
        return None  # "*" is Django's own syntax; the production checks refuse it
    if text is not None and text.startswith("*."):
        return "%r: Django matches subdomains with a leading dot: write %r" % (text, text[1:])
    return dns_name(value)


def nginx_size(value: t.Any) -> str | None:
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is None or not _NGINX_SIZE.match(text):
        return "%r is not an Nginx size: a number with an optional k, m or g, such as 25m" % (value,)
    return None


def url_path(value: t.Any) -> str | None:
    text = _text(value)
    if text is None or not _URL_PATH.match(text) or "'" in text or "\\" in text:
        return "%r is not a URL path: start with '/' and use letters, digits and - . _ ~ / %% only, such as /healthz/" % (value,)
    return None


def nginx_rate(value: t.Any) -> str | None:
    """A `limit_req_zone` rate, or empty for no limit."""
    text = _text(value)
    if text == "":
        return None
    if text is None or not _NGINX_RATE.match(text) or int(text.split("r/")[0]) == 0:
        return "%r is not a request rate: write requests per second or minute, such as 20r/s or 10r/m, or \"\" for no limit" % (value,)
    return None


def nginx_time(value: t.Any) -> str | None:
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if text is None or not _NGINX_TIME.match(text):
        return "%r is not an Nginx time: a number with an optional ms, s, m or h, such as 10s" % (value,)
    return None


def nginx_buffers(value: t.Any) -> str | None:
    text = _text(value)
    if text is None or not _NGINX_BUFFERS.match(text):
        return "%r is not a number and size of buffers: write them as Nginx does, such as 4 8k" % (value,)
    return None


def limited_path(value: t.Any) -> str | None:
    """A path prefix that gets a location (and limits) of its own: not everything, not the ACME challenges."""
    problem = url_path(value)
    if problem is not None:
        return problem
    if value == "/":
        return "'/' is every path: its limit is the general one (nginx_proxy_limit_req_rate)"
    if (value.rstrip("/") + "/").startswith(_ACME_PREFIX):
        return "%r would take ACME challenges away from the certificate's renewal: choose another path" % (value,)
    return None


def _non_negative(value: t.Any) -> bool:
    return not isinstance(value, bool) and str(value).isdigit()


def limit_location(value: t.Any) -> str | None:
    """An entry of nginx_proxy_limit_locations: {path, rate, burst (optional)}."""
    if not isinstance(value, dict):
        return "%r is not a mapping: write one such as {path: /api/, rate: 50r/s, burst: 100}" % (value,)
    unknown = sorted(set(value) - {"path", "rate", "burst"})
    if unknown or "path" not in value or "rate" not in value:
        return "%r needs path and rate, and takes burst besides (%s)" % (
            value, "unknown: " + ", ".join(map(str, unknown)) if unknown else "missing: " + ", ".join(k for k in ("path", "rate") if k not in value))
    problem = limited_path(value["path"]) or nginx_rate(value["rate"])
    if problem is not None:
        return problem
    if "burst" in value and not _non_negative(value["burst"]):
        return "burst %r of %s is not a whole number of requests of 0 or more, such as 100" % (value["burst"], value["path"])
    return None


def config_dir(value: t.Any) -> str | None:
    """A directory the role owns (made 0700 and root's): absolute, normalised, not the system's."""
    text = _text(value)
    if text is None or not text.startswith("/"):
        return "%r is not an absolute path: write a directory of its own such as /etc/djangoops/polls" % (value,)
    if _CONTROL.search(text) or any(part == ".." for part in text.split("/")):
        return "%r holds '..' or a control character: write the directory's plain absolute path" % (value,)
    normalised = posixpath.normpath(text)
    if normalised in SYSTEM_DIRECTORIES:
        return "%r is a system directory the role would take over: use a directory of its own below it, such as %s/djangoops" % (
            value, normalised.rstrip("/"))
    return None


def source(value: t.Any) -> str | None:
    """An address or network (CIDR) for a firewall rule."""
    text = _text(value)
    try:
        ipaddress.ip_network(text, strict=False)
    except (TypeError, ValueError):
        return "%r is not an IP address or network: write one such as 10.0.0.5 or 10.0.0.0/24" % (value,)
    return None


def bounded_source(value: t.Any) -> str | None:
    """An address or network that is not everyone."""
    problem = source(value)
    if problem is None and ipaddress.ip_network(value, strict=False).prefixlen == 0:
        return "%r admits every address on the internet: name the networks that need the app port" % (value,)
    return problem


def bind_address(value: t.Any) -> str | None:
    """A host address to publish a port on, or a host name the server resolves to its addresses first
    (Docker takes no host name or network there)."""
    text = _text(value)
    try:
        ipaddress.ip_address(text)
    except (TypeError, ValueError):
        if text is not None and _resolve.is_host_name(text):
            return None
        return ("%r is not an IP address or a host name: write one of this server's addresses (its private one) or"
                " a name it resolves, or 0.0.0.0 for every address" % (value,))
    return None


def _matching(pattern: t.Pattern[str], words: str) -> Check:
    """A check that the value, as text, matches ``pattern``; ``words`` say what it must be (after %r)."""
    def check(value: t.Any) -> str | None:
        text = _text(value)
        if text is None or not pattern.match(text):
            return ("%r is not " % (value,)) + words
        return None
    return check


# A Django system check id, as SILENCED_SYSTEM_CHECKS names them.
check_id = _matching(_CHECK_ID, "a Django check id: write one such as security.W018")
env_key = _matching(_ENV_KEY, "an environment variable name: letters, digits and '_', not starting with a digit")
identifier = _matching(_IDENTIFIER, "a name of letters, digits and '_' (not starting with a digit)")
lineage_name = _matching(_LINEAGE, "a certificate name: letters, digits, '.', '_' and '-', such as www.example.com")
docker_memory = _matching(_DOCKER_MEMORY, "a size such as 512m or 1g, or empty or 0 for no limit")
tmpfs_size = _matching(_TMPFS_SIZE, "a size such as 64m")
tmpfs_mount = _matching(_TMPFS_MOUNT, 'a tmpfs mount "<absolute path>:<mount options>", such as /tmp:rw,noexec,nosuid,nodev,size=128m')
capability = _matching(_CAPABILITY, "a capability name such as ALL or NET_BIND_SERVICE")
docker_user = _matching(_DOCKER_USER, "a user as Docker's --user takes it, <uid>:<gid> or a name such as 10001:10001,"
                        " or empty for the image's own user")
# A Docker container name, also used as a directory name.
container_name = _matching(_LINEAGE, "a container name: letters, digits, '.', '_' and '-', such as polls")


def regex(value: t.Any) -> str | None:
    """A regular expression (Python's, as the health checks search with it)."""
    if not isinstance(value, str):
        return "%r is not a string: write a regular expression such as ^ok" % (value,)
    try:
        re.compile(value)
    except re.error as error:
        return "%r is not a regular expression (%s)" % (value, error)
    return None


def one_line(value: t.Any) -> str | None:
    """A value written on one line of a file (the env file): no newline or control character."""
    if isinstance(value, (dict, list)):
        return "is a %s: write a string" % type(value).__name__
    if _CONTROL.search(str(value)):
        return "holds a newline or control character, which would start another line of the file: write it on one line"
    return None


def _number_list(value: t.Any, low: int, high: int, what: str) -> str | None:
    items = str(value).split(",") if isinstance(value, (str, int)) and not isinstance(value, bool) else []
    if not items or not all(item.strip().isdigit() and low <= int(item) <= high for item in items):
        return "%r is not a %s: a number %d-%d or a comma-separated list of them, such as %d" % (value, what, low, high, low + 3)
    return None


def cron_hour(value: t.Any) -> str | None:
    return _number_list(value, 0, 23, "schedule hour")


def cron_minute(value: t.Any) -> str | None:
    return _number_list(value, 0, 59, "schedule minute")


def port(value: t.Any) -> str | None:
    if isinstance(value, bool) or not str(value).isdigit() or not 1 <= int(value) <= 65535:
        return "%r is not a port: write a number 1-65535" % (value,)
    return None


CHECKS: dict[str, Check] = {
    "dns_name": dns_name, "django_host": django_host, "nginx_size": nginx_size, "url_path": url_path,
    "config_dir": config_dir, "source": source, "bounded_source": bounded_source, "env_key": env_key,
    "one_line": one_line, "identifier": identifier, "lineage_name": lineage_name, "cron_hour": cron_hour,
    "cron_minute": cron_minute, "port": port, "container_name": container_name,
    "bind_address": bind_address, "check_id": check_id, "regex": regex, "nginx_rate": nginx_rate,
    "nginx_time": nginx_time, "nginx_buffers": nginx_buffers, "limited_path": limited_path, "limit_location": limit_location,
    "docker_memory": docker_memory, "tmpfs_size": tmpfs_size, "tmpfs_mount": tmpfs_mount, "capability": capability,
    "docker_user": docker_user,
}


class UnknownKind(ValueError):
    """The role asked for a kind of check this module does not have."""


def problems(settings: t.Mapping[str, t.Sequence[t.Any]]) -> list[str]:
    """Problems of ``{variable: [kind, value]}``; a list value is checked item by item."""
    found = []
    for variable, (kind, value) in settings.items():
        check = CHECKS.get(kind)
        if check is None:
            raise UnknownKind("no check of kind %r (for %s); known: %s" % (kind, variable, ", ".join(sorted(CHECKS))))
        values = value if isinstance(value, (list, tuple)) else [value]
        for index, item in enumerate(values):
            problem = check(item)
            if problem is not None:
                where = variable if not isinstance(value, (list, tuple)) else "%s[%d]" % (variable, index)
                found.append("%s: %s" % (where, problem))
    return found
