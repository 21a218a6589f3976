# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One source of truth: the fleet-wide facts live in roles/site, every role derives from them, and no
role reads another role's variables or paths except through its published entry points and facts.

The derivations are checked by templating each role's defaults with Ansible's own templar, as a play
would resolve them (site defaults < role defaults < inventory), with one site setting changed at a time:
the role's variable must follow it.
"""

from __future__ import annotations

import pathlib
import re
import typing as t

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:  # ansible-core 2.19+: strings from files are templates only when trusted, as role defaults are.
    from ansible.template import trust_as_template
except ImportError:  # older cores template every string
    def trust_as_template(value: t.Any) -> t.Any:
        return value

CHECKOUT = pathlib.Path(__file__).resolve().parents[3]
ROLES_DIR = CHECKOUT / "roles"
ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if path.is_dir())
APP_ROLES = [role for role in ROLES if role != "site"]


def _load(path: pathlib.Path) -> t.Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _defaults(role: str) -> dict:
    return _load(ROLES_DIR / role / "defaults" / "main.yml")


SITE_DEFAULTS = _defaults("site")

GROUPS = {"all": ["app1", "app2", "proxy1", "proxy2"], "web": ["app1", "app2"], "edge": ["proxy1", "proxy2"],
          "django_app": ["app1", "app2"], "nginx_proxy": ["proxy1", "proxy2"]}

# Each shared fact: the site setting, a value an inventory might give it, and every role variable
# that means the same thing, with the value it must then take.
SHARED = {
    "site_app_port": (9100, {
        # The standby port follows the app port: the next one, closed by the firewall too.
        "django_app_published_port": 9100, "nginx_proxy_upstream_port": 9100, "ufw_docker_ports": [9100, 9101],
        "django_app_standby_port": 9101}),
    "site_app_standby_port": (9300, {"django_app_standby_port": 9300, "ufw_docker_ports": [8000, 9300]}),
    "site_app_group": ("web", {"nginx_proxy_upstream_groups": ["web"]}),
    "site_proxy_group": ("edge", {
        "django_app_proxy_group": "edge", "ufw_docker_proxy_group": "edge", "certbot_proxy_group": "edge",
        # The issuer follows the proxy group: its first host.
        "certbot_issuer": "proxy1", "nginx_proxy_acme_issuer": "proxy1"}),
    "site_private_address_var": ("vpc_ip", {
        "django_app_proxy_address_var": "vpc_ip", "ufw_docker_proxy_address_var": "vpc_ip",
        "nginx_proxy_upstream_address_var": "vpc_ip"}),
    "site_public_address_var": ("public_ip", {"certbot_address_var": "public_ip"}),
    "site_server_names": (["shop.example.com", "example.com"], {
        "django_app_allowed_hosts": ["shop.example.com", "example.com"],
        "nginx_proxy_server_names": ["shop.example.com", "example.com"],
        "certbot_domains": ["shop.example.com", "example.com"],
        # The certificate is named after the first name unless site_certificate_name says otherwise.
        "nginx_proxy_certificate_name": "shop.example.com", "certbot_cert_name": "shop.example.com"}),
    "site_certificate_name": ("shop", {"nginx_proxy_certificate_name": "shop", "certbot_cert_name": "shop"}),
    "site_acme_issuer": ("proxy2", {"certbot_issuer": "proxy2", "nginx_proxy_acme_issuer": "proxy2"}),
    "site_acme_webroot": ("/srv/acme", {"nginx_proxy_webroot": "/srv/acme", "certbot_webroot": "/srv/acme"}),
    "site_letsencrypt_dir": ("/srv/le", {"nginx_proxy_letsencrypt_dir": "/srv/le", "certbot_config_dir": "/srv/le"}),
}


def _resolve(role: str, name: str, inventory: dict) -> t.Any:
    """A role variable as a play on proxy1 resolves it: site defaults < the role's defaults < inventory."""
    variables = {**SITE_DEFAULTS, **_defaults(role), **inventory}
    variables = {key: trust_as_template(value) if isinstance(value, str) else value for key, value in variables.items()}
    variables.update(groups=GROUPS, inventory_hostname="proxy1")
    return Templar(loader=DataLoader(), variables=variables).template(variables[name])


def _derivations() -> list[t.Any]:
    return [
        pytest.param(setting, value, variable, expected, id="%s->%s" % (setting, variable))
        for setting, (value, derived) in SHARED.items()
        for variable, expected in derived.items()
    ]


# The site role's own settings: the fleet lock, which the playbooks take through its entry point `lock`,
# the registry logins, which the roles use through its entry points `registry_login` and `pull`, and the
# Docker engine's settings, which site.yml applies through its entry point `engine`.
SITE_OWN = {"site_lock_host", "site_lock_path", "site_lock_wait", "site_lock_lease", "site_lock_break",
            "site_registry_logins", "site_docker_live_restore", "site_docker_daemon_config"}


def test_every_site_setting_is_shared() -> None:
    # A site setting no role derives from would be a setting that does nothing.
    assert set(SHARED) == set(SITE_DEFAULTS) - SITE_OWN


@pytest.mark.parametrize("setting, value, variable, expected", _derivations())
def test_role_default_follows_the_site_setting(setting: str, value: t.Any, variable: str, expected: t.Any) -> None:
    role = next(role for role in APP_ROLES if variable.startswith(role + "_"))
    assert _resolve(role, variable, {setting: value}) == expected


@pytest.mark.parametrize("setting, value, variable, expected", _derivations())
def test_role_variable_set_in_the_inventory_wins(setting: str, value: t.Any, variable: str, expected: t.Any) -> None:
    # A role used on its own, with its own variables: the inventory's value beats the derivation.
    role = next(role for role in APP_ROLES if variable.startswith(role + "_"))
    own = ["own.example.com"] if isinstance(expected, list) else "own-value"
    assert _resolve(role, variable, {setting: value, variable: own}) == own


def test_a_role_on_its_own_names_the_certificate_after_its_own_names() -> None:
    # No site_server_names: the certificate is named after the role's own first name.
    assert _resolve("certbot", "certbot_cert_name", {"certbot_domains": ["a.example.com"]}) == "a.example.com"
    assert _resolve("nginx_proxy", "nginx_proxy_certificate_name", {"nginx_proxy_server_names": ["b.example.com"]}) == "b.example.com"


def test_the_app_port_is_published_on_the_private_address_where_one_is_known() -> None:
    assert _resolve("django_app", "django_app_published_address", {"private_address": "10.87.0.11"}) == "10.87.0.11"
    assert _resolve("django_app", "django_app_published_address",
                    {"site_private_address_var": "vpc_ip", "vpc_ip": "fd00::11", "private_address": "10.0.0.1"}) == "fd00::11"
    # No private address in the inventory: every address, closed by the firewall.
    assert _resolve("django_app", "django_app_published_address", {}) == "0.0.0.0"


def test_derivations_use_the_site_defaults_when_nothing_is_set() -> None:
    assert _resolve("django_app", "django_app_published_port", {}) == 8000
    assert _resolve("ufw_docker", "ufw_docker_ports", {}) == [8000, 8001]
    assert _resolve("django_app", "django_app_standby_port", {}) == 8001
    assert _resolve("ufw_docker", "ufw_docker_ports", {"site_app_standby_port": 0}) == [8000]
    assert _resolve("nginx_proxy", "nginx_proxy_upstream_groups", {}) == ["django_app"]
    assert _resolve("certbot", "certbot_issuer", {}) == "proxy1"


# Role defaults that hold the same literal as a site default but mean something else.
SAME_VALUE_OTHER_MEANING = {
    "django_app_container_port": "the port Gunicorn listens on inside the container, not the host port",
}


@pytest.mark.parametrize("role", APP_ROLES)
def test_no_role_repeats_a_site_default(role: str) -> None:
    # Empty lists and strings, and true or false, say nothing about meaning; only real values count.
    literals = {repr(value): name for name, value in SITE_DEFAULTS.items()
                if value and not isinstance(value, bool) and "{{" not in str(value)}
    repeated = {
        name: literals[repr(value)] for name, value in _defaults(role).items()
        if repr(value) in literals and name not in SAME_VALUE_OTHER_MEANING
    }
    assert repeated == {}, "%s: derive these from the site settings instead: %s" % (role, repeated)


@pytest.mark.parametrize("role", APP_ROLES)
def test_role_depends_on_the_site_role(role: str) -> None:
    dependencies = _load(ROLES_DIR / role / "meta" / "main.yml").get("dependencies") or []
    assert {"role": "djangoops.fleet.site"} in dependencies, role


# --- Roles meet at entry points, not internals -------------------------------------------------------

# What a role may name of another: its published fact, and the arguments of its entry points.
PUBLISHED = re.compile(r"^(nginx_proxy_(published|drain_\w+)|ufw_docker_published)$")
ROLE_VARIABLE = re.compile(r"\b_*(%s)_[a-z0-9_]+" % "|".join(APP_ROLES))


def _role_files(role: str) -> t.Iterator[pathlib.Path]:
    for folder in ("defaults", "vars", "tasks", "handlers", "templates", "meta", "files"):
        yield from sorted(path for path in (ROLES_DIR / role / folder).rglob("*") if path.is_file())


def _owned_paths(role: str) -> set[str]:
    """The absolute paths a role's defaults and vars define (fixed part, before any template)."""
    paths = set()
    for source in ("defaults", "vars"):
        for value in _load(ROLES_DIR / role / source / "main.yml").values():
            if isinstance(value, str) and value.startswith(("/etc/", "/var/", "/usr/", "/srv/", "/opt/", "/run/")):
                fixed = value.split("{{")[0].rstrip("/")
                if fixed.count("/") >= 3 or "{{" not in value:  # "/etc/djangoops/{{ x }}": a shared parent
                    paths.add(fixed)
    return paths


def _foreign_references(role: str) -> list[str]:
    found = []
    foreign_paths = {path: other for other in APP_ROLES if other != role for path in _owned_paths(other)}
    for path in _role_files(role):
        text = path.read_text(encoding="utf-8", errors="replace")
        where = path.relative_to(ROLES_DIR).as_posix()
        for match in ROLE_VARIABLE.finditer(text):
            name = match.group(0)
            if match.group(1) != role and not PUBLISHED.match(name):
                found.append("%s: %s" % (where, name))
        found.extend("%s: %s (%s's path)" % (where, literal, other)
                     for literal, other in foreign_paths.items() if literal in text)
    return found


def test_the_reference_finder_sees_what_it_must() -> None:
    # The check below must be able to fail: a variable of another role and a path it owns are found.
    assert ROLE_VARIABLE.search("{{ hostvars[item]['nginx_proxy_config_dir'] }}")
    assert not PUBLISHED.match("nginx_proxy_config_dir")
    assert PUBLISHED.match("nginx_proxy_published") and PUBLISHED.match("nginx_proxy_drain_hosts")
    assert PUBLISHED.match("ufw_docker_published") and not PUBLISHED.match("ufw_docker_ports")
    assert "/etc/djangoops/nginx" in _owned_paths("nginx_proxy")


@pytest.mark.parametrize("role", APP_ROLES)
def test_role_names_no_other_role_internals(role: str) -> None:
    assert _foreign_references(role) == [], "use the site settings, or the other role's published facts and entry points"


def test_the_proxy_publishes_on_ipv6_when_its_public_addresses_include_one() -> None:
    # A dual-stack proxy (a list of its IPv4 and IPv6 addresses) publishes 80/443 on [::] too.
    dual_stack = {"site_public_address_var": "public_ip", "public_ip": ["203.0.113.10", "2001:db8::10"]}
    assert _resolve("nginx_proxy", "nginx_proxy_publish_ipv6", dual_stack) is True
    assert _resolve("nginx_proxy", "nginx_proxy_publish_ipv6", {"ansible_host": "2001:db8::10"}) is True
    # IPv4 only, a host name, or no address at all: IPv4 only, as before.
    assert _resolve("nginx_proxy", "nginx_proxy_publish_ipv6", {"ansible_host": "203.0.113.10"}) is False
    assert _resolve("nginx_proxy", "nginx_proxy_publish_ipv6", {"ansible_host": "proxy1.example.com"}) is False
    assert _resolve("nginx_proxy", "nginx_proxy_publish_ipv6", {}) is False


def test_the_app_port_is_published_on_each_address_of_a_name_ipv6_in_brackets() -> None:
    role_vars = _load(ROLES_DIR / "django_app" / "vars" / "main.yml")

    def published(inventory: dict) -> t.Any:
        return _resolve("django_app", "__django_app_published_hosts", {**role_vars, **inventory})

    assert published({"django_app_published_address": "10.0.0.5"}) == ["10.0.0.5"]
    assert published({"django_app_published_address": "::"}) == ["[::]"]
    assert published({"django_app_published_address": "fd00::5"}) == ["[fd00::5]"]
    # A name, as tasks/addresses.yml resolved it on the server.
    resolved = {"__django_app_addresses": {"app1.internal": ["10.0.0.5", "fd00::5"]}}
    assert published({"django_app_published_address": "app1.internal", **resolved}) == ["10.0.0.5", "[fd00::5]"]
