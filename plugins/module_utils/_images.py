# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Image references and registry logins: which registry an image is pulled from, and which of the
site's registry logins a server needs for the images it runs (filters image_registry, registry_logins
and registry_login_problems); and whether a container's user is root (test root_user)."""

from __future__ import annotations

import re
import typing as t


DOCKER_HUB = "docker.io"
# What Docker Hub is also called in image references and logins.
_HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
# The address Docker's engine and docker login use for Docker Hub's credentials.
DOCKER_HUB_LOGIN = "https://index.docker.io/v1/"
# host[:port]: a DNS name, an IPv4 address or a bracketed IPv6 address, with an optional port.
_REGISTRY = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$")
_LOGIN_KEYS = ("registry", "username", "password")


def normal_registry(registry: str) -> str:
    """A registry as written in a login (a scheme, a path and capitals allowed) in the form image
    references use: host[:port], Docker Hub's names as docker.io."""
    text = str(registry).strip()
    for scheme in ("https://", "http://"):
        if text.lower().startswith(scheme):
            text = text[len(scheme):]
    text = text.split("/", 1)[0].lower()
    return DOCKER_HUB if text in _HUB_NAMES else text


def registry_of(image: str) -> str:
    """The registry an image reference is pulled from, by Docker's rule: the part before the first '/'
    when it holds a '.' or a ':' or is 'localhost' (ghcr.io/org/app, 10.0.0.5:5000/app), else Docker Hub
    (nginx, certbot/certbot)."""
    name = str(image).strip().split("@", 1)[0]
    first, slash, _rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return normal_registry(first)
    return DOCKER_HUB


def login_url(registry: str) -> str:
    """What docker login is given for a registry (Docker Hub's credentials have an address of their own)."""
    return DOCKER_HUB_LOGIN if registry == DOCKER_HUB else registry


def login_problems(logins: t.Any, variable: str = "site_registry_logins") -> list[str]:
    """What is wrong with a list of registry logins, one problem a line, each naming the entry (never a password)."""
    if not isinstance(logins, (list, tuple)):
        return ["%s must be a list of {registry, username, password} (got %s)" % (variable, type(logins).__name__)]
    found = []
    seen: dict[str, int] = {}
    for index, login in enumerate(logins):
        where = "%s[%d]" % (variable, index)
        if not isinstance(login, dict):
            found.append("%s must be a mapping of registry, username and password" % where)
            continue
        unknown = sorted(set(login) - set(_LOGIN_KEYS))
        if unknown:
            found.append("%s has keys it does not know: %s (it takes registry, username and password)" % (where, ", ".join(map(str, unknown))))
        registry = login.get("registry")
        if not isinstance(registry, str) or not _REGISTRY.match(normal_registry(registry)):
            found.append("%s.registry: %r is not a registry host (write it as in the image names, e.g. ghcr.io or"
                         " registry.example.com:5000)" % (where, registry))
        else:
            name = normal_registry(registry)
            if name in seen:
                found.append("%s.registry: %s is logged in to by %s[%d] already (one login per registry)" % (where, name, variable, seen[name]))
            seen.setdefault(name, index)
        username = login.get("username")
        if not isinstance(username, str) or not username.strip() or any(char in username for char in "\r\n\0"):
            found.append("%s.username must be a user name on one line" % where)
        password = login.get("password")
        if not isinstance(password, str) or not password:
            found.append("%s.password is required (the password or an access token that may pull)" % where)
        elif any(char in password for char in "\r\n\0"):
            found.append("%s.password holds a line break or a NUL character" % where)
    return found


def logins_for(logins: t.Iterable[t.Mapping[str, t.Any]], images: t.Iterable[str] | None) -> list[dict[str, str]]:
    """The logins of the registries the images come from (every login when images is None), each with
    registry (normal form), url (for docker login), username and password, in the order given."""
    wanted = None if images is None else {registry_of(image) for image in images if image}
    chosen = []
    for login in logins:
        registry = normal_registry(login["registry"])
        if wanted is None or registry in wanted:
            chosen.append({"registry": registry, "url": login_url(registry),
                           "username": login["username"], "password": login["password"]})
    return chosen


def is_root_user(user: str | None) -> bool:
    """Whether a container runs as root with this user, as Docker's ``--user`` and an image's ``USER`` write
    it (name or uid, optionally ``:group``): empty (Docker's default, root), ``root`` or uid 0, whatever the
    group. Only the user part counts: ``app:0`` runs as app. A name other than root is taken as not root
    (what it maps to is in the image's /etc/passwd, which Docker's inspect does not show)."""
    name = str(user or "").strip().split(":", 1)[0].strip()
    if not name:
        return True
    if name.isdigit():
        return int(name) == 0
    return name == "root"
