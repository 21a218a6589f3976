# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Each role's ``meta/argument_specs.yml`` is the single source of its inputs (STYLE.md section 2).

Static checks read the YAML files of every role under ``roles/``: the spec documents every option
(type, elements, a full-sentence description, the role prefix), its defaults are those of
``defaults/main.yml`` (Ansible treats a spec ``default`` as documentation only, so nothing else
keeps them equal), and every task is named and calls its module by FQCN.

The last part runs ``ansible-playbook`` for real: ``include_role`` with ``tasks_from: validate``
on localhost connections, once with good input per role, then with one bad value at a time, and
checks that the run fails in the right task with a message naming the variable.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import typing as t

import pytest
import yaml
from ansible.playbook.block import Block
from ansible.playbook.handler import Handler
from ansible.playbook.task import Task

CHECKOUT = pathlib.Path(__file__).resolve().parents[3]
ROLES_DIR = CHECKOUT / "roles"
ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if path.is_dir())

MISSING = object()


def _load(path: pathlib.Path) -> t.Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _specs(role: str) -> dict:
    return _load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]


def _defaults(role: str) -> dict:
    return _load(ROLES_DIR / role / "defaults" / "main.yml") or {}


def _options(entry_points: tuple[str, ...] | None = None) -> list[t.Any]:
    """One param per (role, entry point, option), with an id naming all three."""
    params = []
    for role in ROLES:
        path = ROLES_DIR / role / "meta" / "argument_specs.yml"
        if not path.is_file():
            continue  # test_role_has_argument_specs_with_main reports it
        for entry_point, spec in _specs(role).items():
            if entry_points is not None and entry_point not in entry_points:
                continue
            for name, option in (spec.get("options") or {}).items():
                params.append(pytest.param(role, entry_point, name, option, id="%s:%s:%s" % (role, entry_point, name)))
    return params


def _same(left: t.Any, right: t.Any) -> bool:
    """Equal as YAML values: ``8000`` is not ``"8000"``, ``1`` is not ``true`` or ``1.0``."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right))
    return left == right


# --- Layout ---------------------------------------------------------------------------------------

def test_roles_are_discovered() -> None:
    # Guards the parametrization below: an empty or wrong roles/ would make every check vacuous.
    assert {"site", "django_app", "nginx_proxy", "certbot", "ufw_docker"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "path", ["tasks/main.yml", "meta/main.yml", "defaults/main.yml", "meta/argument_specs.yml", "README.md"],
)
def test_role_has_file(role: str, path: str) -> None:
    assert (ROLES_DIR / role / path).is_file(), "%s: %s is missing" % (role, path)


@pytest.mark.parametrize("role", ROLES)
def test_role_that_notifies_has_handlers(role: str) -> None:
    # The site role changes nothing and so notifies nothing: an empty handlers file would be a stub.
    notifies = any("notify:" in path.read_text() for path in (ROLES_DIR / role / "tasks").rglob("*.yml"))
    assert (ROLES_DIR / role / "handlers" / "main.yml").is_file() == notifies, role


# --- meta/argument_specs.yml ----------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_role_has_argument_specs_with_main(role: str) -> None:
    path = ROLES_DIR / role / "meta" / "argument_specs.yml"
    assert path.is_file(), "%s: meta/argument_specs.yml is missing" % role
    specs = _load(path)["argument_specs"]
    assert "main" in specs, "%s: no entry point 'main' in %s" % (role, list(specs))
    assert specs["main"].get("options"), "%s: entry point 'main' has no options" % role


@pytest.mark.parametrize("role, entry_point, name, option", _options())
def test_option_is_documented(role: str, entry_point: str, name: str, option: dict) -> None:
    where = "%s: %s option %s" % (role, entry_point, name)
    assert option.get("type"), "%s has no type" % where
    if option["type"] == "list":
        assert option.get("elements"), "%s is a list without elements" % where
    description = option.get("description")
    assert description, "%s has no description" % where
    # Ansible accepts a string or a list of paragraphs; each must be a sentence.
    for paragraph in [description] if isinstance(description, str) else description:
        text = paragraph.strip()
        assert text[:1].isupper(), "%s: description does not start upper-case: %r" % (where, text)
        assert text.endswith("."), "%s: description does not end with a period: %r" % (where, text)


@pytest.mark.parametrize("role, entry_point, name, option", _options())
def test_option_has_role_prefix(role: str, entry_point: str, name: str, option: dict) -> None:
    assert name.startswith(role + "_"), "%s: %s option %s lacks the prefix %s_" % (role, entry_point, name, role)


@pytest.mark.parametrize("role, entry_point, name, option", _options())
def test_required_option_has_no_default(role: str, entry_point: str, name: str, option: dict) -> None:
    if option.get("required"):
        assert "default" not in option, "%s: %s option %s is required and has a default" % (role, entry_point, name)


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_an_option_of_main(role: str) -> None:
    options = _specs(role)["main"]["options"]
    undocumented = sorted(set(_defaults(role)) - set(options))
    assert undocumented == [], "%s: defaults/main.yml sets variables missing from argument_specs main" % role


def _default_params() -> list[t.Any]:
    return list(_options(entry_points=("main",)))


@pytest.mark.parametrize("role, entry_point, name, option", _default_params())
def test_spec_default_equals_defaults_main(role: str, entry_point: str, name: str, option: dict) -> None:
    """The spec's ``default`` and defaults/main.yml agree, both present or both absent.

    Required options have neither (a default would hide a missing value). Options that are
    neither required nor defaulted (django_app_admin_password, required only together with
    another option) have neither too; tasks/validate.yml checks them.
    """
    in_defaults = _defaults(role).get(name, MISSING)
    if option.get("required"):
        assert in_defaults is MISSING, "%s: %s is required but defaults/main.yml sets it" % (role, name)
        return
    in_spec = option.get("default", MISSING)
    if in_spec is MISSING and _derived_from_other_options(role, in_defaults):
        # A default computed from other options stays out of the spec: Ansible templates spec
        # defaults while validating, so a bad value of the other option would crash the
        # validation instead of failing it with a message. The description states the default.
        description = option["description"]
        text = " ".join(description) if isinstance(description, list) else description
        assert "default" in text.lower(), "%s: %s: describe the derived default" % (role, name)
        return
    if in_spec is MISSING or in_defaults is MISSING:
        assert in_spec is in_defaults, "%s: %s: spec default %r, defaults/main.yml %r" % (
            role, name, "<none>" if in_spec is MISSING else in_spec, "<none>" if in_defaults is MISSING else in_defaults)
        return
    assert _same(in_spec, in_defaults), "%s: %s: spec default %r != defaults/main.yml %r" % (role, name, in_spec, in_defaults)


def _derived_from_other_options(role: str, value: t.Any) -> bool:
    """A default computed from another option of the same role (not from a site setting)."""
    return isinstance(value, str) and re.search(r"\{\{.*\b%s_\w+" % role, value) is not None


def test_default_comparison_is_strict() -> None:
    # The comparison above must tell YAML's 8000, "8000", 8000.0 and true apart.
    assert _same({"a": [8000]}, {"a": [8000]})
    assert not _same(8000, "8000")
    assert not _same(8000, 8000.0)
    assert not _same(1, True)
    assert not _same([8000], [8000, 8000])


# --- Tasks: names and FQCN ------------------------------------------------------------------------

KEYWORDS = frozenset(Task.fattributes) | frozenset(Block.fattributes) | frozenset(Handler.fattributes)
FQCN = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+$")


def _tasks(entries: list, trail: str) -> t.Iterator[tuple[str, dict]]:
    """Every task in a task list, blocks included, each with a readable location."""
    for index, entry in enumerate(entries or []):
        where = "%s[%d]" % (trail, index)
        yield where, entry
        if isinstance(entry, dict):
            for section in ("block", "rescue", "always"):
                if section in entry:
                    yield from _tasks(entry[section], "%s.%s" % (where, section))


def _task_params() -> list[t.Any]:
    params = []
    for role in ROLES:
        for folder in ("tasks", "handlers"):
            for path in sorted((ROLES_DIR / role / folder).rglob("*.y*ml")):
                relative = path.relative_to(ROLES_DIR).as_posix()
                for where, task in _tasks(_load(path), relative):
                    params.append(pytest.param(where, task, id=where))
    return params


def _action(task: dict) -> str:
    """The module or action a task calls."""
    if "action" in task or "local_action" in task:
        value = task.get("action", task.get("local_action"))
        return value["module"] if isinstance(value, dict) else value.split()[0]
    actions = [key for key in task if key not in KEYWORDS and not key.startswith("with_")]
    assert len(actions) == 1, "expected one action key, found %s" % actions
    return actions[0]


def test_task_files_are_found() -> None:
    # Each role's tasks/main.yml at least contributes; an empty list would pass vacuously.
    assert {param.id.split("/")[0] for param in _task_params()} == set(ROLES)


@pytest.mark.parametrize("where, task", _task_params())
def test_task_is_named_and_uses_fqcn(where: str, task: dict) -> None:
    assert isinstance(task, dict), "%s is not a mapping" % where
    assert task.get("name"), "%s has no name" % where
    if "block" in task:
        return
    action = _action(task)
    assert FQCN.match(action), "%s calls %r, not a fully qualified collection name" % (where, action)


def test_action_detection() -> None:
    assert _action({"name": "x", "ansible.builtin.copy": {}, "become": True, "loop": [], "notify": "y"}) == "ansible.builtin.copy"
    assert _action({"name": "x", "copy": {}, "with_items": []}) == "copy"
    assert _action({"name": "x", "action": "copy src=a dest=b"}) == "copy"
    assert not FQCN.match("copy")
    assert not FQCN.match("docker_container.x")


# --- Ansible's own validation, for real -----------------------------------------------------------

INVENTORY = """
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  children:
    django_app:
      hosts:
        app1.example.com:
          private_address: 192.0.2.11
        app2.example.com:
          private_address: 192.0.2.12
    nginx_proxy:
      hosts:
        proxy1.example.com:
          private_address: 192.0.2.21
"""

PLAYBOOK = """
- name: Validate the {role} settings
  hosts: {host}
  gather_facts: false
  tasks:
    - name: Run the role's validation only
      ansible.builtin.include_role:
        name: djangoops.fleet.{role}
        tasks_from: validate
"""

# The host each role's validation runs on: the app roles on an app server, the others on a proxy.
HOSTS = {
    "django_app": "app1.example.com",
    "ufw_docker": "app1.example.com",
    "nginx_proxy": "proxy1.example.com",
    "certbot": "proxy1.example.com",
    "site": "app1.example.com",
}

# Good input per role: every required option, nothing else. Each bad case below changes one value.
GOOD = {
    "django_app": {
        "django_app_image": "registry.example.com/polls:1.0.0",
        # 51 characters, no placeholder prefix.
        "django_app_secret_key": "q7Vt2mKx9LwR4pZc8NbY3hJd6FsA1gUe5TiO0kWn-rXy_CvBlMa",
        "django_app_allowed_hosts": ["www.example.com"],
        "django_app_database_user": "sammy",
        "django_app_database_password": "db-password",
        "django_app_database_host": "db.example.com",
        "django_app_static_access_key_id": "key-id",
        "django_app_static_secret_key": "s3-secret",
        "django_app_static_bucket_name": "polls-static",
        "django_app_static_endpoint_url": "https://nyc3.digitaloceanspaces.com",
        "django_app_admin_password": "admin-password-1",
    },
    "nginx_proxy": {"nginx_proxy_server_names": ["www.example.com", "example.com"]},
    "certbot": {"certbot_domains": ["www.example.com"]},
    "ufw_docker": {},
    "site": {"site_server_names": ["www.example.com"]},
}

# Tasks that run when validation passes: include_role, the argument spec, then tasks/validate.yml, one
# check per role. Every role but site runs its dependency, the site role, first: its argument spec, the
# include of its once-per-run tasks, its check, its two add_host loops (the app servers, the proxies)
# and the fact that notes them done add 6 ok.
SITE_DEPENDENCY_OK = 6
GOOD_RECAP = {
    "django_app": {"ok": 3 + SITE_DEPENDENCY_OK, "failed": 0, "skipped": 0},
    "nginx_proxy": {"ok": 3 + SITE_DEPENDENCY_OK, "failed": 0, "skipped": 0},
    "certbot": {"ok": 3 + SITE_DEPENDENCY_OK, "failed": 0, "skipped": 0},
    # The SSH lockout check (read SSH_CONNECTION, compare) runs only when ufw_docker_ssh_sources lists sources.
    "ufw_docker": {"ok": 3 + SITE_DEPENDENCY_OK, "failed": 0, "skipped": 2},
    "site": {"ok": 3, "failed": 0, "skipped": 0},
}

SPEC_TASK = "Validating arguments against arg spec 'validate'"
DROP = object()  # an override that removes the variable


class Bad(t.NamedTuple):
    role: str
    overrides: dict
    culprit: str  # the variable the error message must name
    task: str  # the task that must fail
    # What the failed assert condition must name (each role has one, over the list of its problems);
    # None when the assert runs with no_log, which hides the condition.
    condition_names: str | None
    # Set while the role errors out in Jinja instead of failing this way (reported, not yet fixed).


BAD_CASES = {
    "django_app-missing-static-ca-bundle": Bad(
        "django_app", {"django_app_static_ca_bundle": "/nonexistent/storage-ca.pem"},
        "django_app_static_ca_bundle '/nonexistent/storage-ca.pem' is not a file on the controller", "Check the django_app settings",
        None),
    # A file of that name is in the run's working directory (Validation writes it there): the path is
    # refused for being relative, not for being missing.
    "django_app-relative-static-ca-bundle": Bad(
        "django_app", {"django_app_static_ca_bundle": "inventory.yml"},
        "django_app_static_ca_bundle 'inventory.yml' is a relative path; give the absolute path of the PEM bundle", "Check the django_app settings",
        None),
    "django_app-missing-secret-key": Bad(
        "django_app", {"django_app_secret_key": DROP},
        "missing required arguments: django_app_secret_key", SPEC_TASK, None),
    # The assert runs with no_log, which hides the failed condition but not the fail_msg.
    "django_app-short-secret-key": Bad(
        "django_app", {"django_app_secret_key": "0123456789"},
        "django_app_secret_key must be at least 50", "Check the django_app settings",
        None),
    "django_app-admin-without-password": Bad(
        "django_app", {"django_app_admin_password": DROP},
        "django_app_admin_password (12+ characters) is required", "Check the django_app settings",
        None),
    "django_app-unknown-proxy-group": Bad(
        "django_app", {"django_app_proxy_group": "proxies"},
        "the proxies in group 'proxies'", "Check the django_app settings",
        None),
    "django_app-repetitive-secret-key": Bad(
        "django_app", {"django_app_secret_key": "ab" * 30},
        "at least 50 random characters (5 distinct at least)", "Check the django_app settings",
        None),
    "django_app-debug-in-production": Bad(
        "django_app", {"django_app_debug": True},
        "django_app_debug must be false", "Check the django_app settings",
        None),
    "django_app-any-host-in-production": Bad(
        "django_app", {"django_app_allowed_hosts": ["*"]},
        "instead of '*' (got ['*'])", "Check the django_app settings",
        None),
    "django_app-csrf-origin-of-another-site": Bad(
        "django_app", {"django_app_csrf_trusted_origins": ["https://www.example.com", "http://www.example.com", "https://evil.test"]},
        "these are not: http://www.example.com, https://evil.test", "Check the django_app settings",
        None),
    "django_app-bad-loglevel": Bad(
        "django_app", {"django_app_loglevel": "verbose"},
        "django_app_loglevel must be one of", SPEC_TASK, None),
    "nginx_proxy-bad-server-name": Bad(
        "nginx_proxy", {"nginx_proxy_server_names": ["bad name!"]},
        "nginx_proxy_server_names must list DNS names (['bad name!'])", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-preload-without-subdomains": Bad(
        "nginx_proxy", {"nginx_proxy_hsts_preload": True},
        "nginx_proxy_hsts_preload needs nginx_proxy_hsts_include_subdomains", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "certbot-renew-before-above-one": Bad(
        "certbot", {"certbot_renew_before": 1.5},
        "certbot_renew_before must be a fraction between 0 and 1 (got 1.5)", "Check the certbot settings",
        "__certbot_problems"),
    "certbot-renew-before-not-a-number": Bad(
        "certbot", {"certbot_renew_before": "soon"},
        "argument 'certbot_renew_before' is of type str and we were unable to convert to float", SPEC_TASK, None),
    "ufw_docker-port-out-of-range": Bad(
        "ufw_docker", {"ufw_docker_ports": [70000]},
        "ufw_docker_ports must list ports 1-65535", "Check the ufw_docker settings",
        "__ufw_docker_problems"),
    "ufw_docker-bad-source": Bad(
        "ufw_docker", {"ufw_docker_extra_allowed_sources": ["10.0.0.0/8", "anywhere"]},
        "ufw_docker_extra_allowed_sources must hold addresses or CIDRs (got ['10.0.0.0/8', 'anywhere'])", "Check the ufw_docker settings",
        "__ufw_docker_problems"),
    # Each of these once died in a template error before the assert could name the culprit.
    "django_app-port-zero": Bad(
        "django_app", {"django_app_published_port": 0},
        "django_app_published_port must be 1-65535", "Check the django_app settings",
        None),
    "ufw_docker-unknown-proxy-group": Bad(
        "ufw_docker", {"ufw_docker_proxy_group": "proxies"},
        "every host in group 'proxies'", "Check the ufw_docker settings",
        "__ufw_docker_problems"),
    "certbot-empty-domains": Bad(
        "certbot", {"certbot_domains": []},
        "certbot_domains must list the names to certify", "Check the certbot settings",
        "__certbot_problems"),
    # The mistakes users make (issue 17), each stopped by the role's own validation, naming the variable.
    "django_app-healthcheck-path-with-a-quote": Bad(
        "django_app", {"django_app_healthcheck_path": "/polls/'); import os; ('"},
        "django_app_healthcheck_path: \"/polls/'); import os; ('\" is not a URL path", "Check the django_app settings",
        None),
    "django_app-config-dir-etc": Bad(
        "django_app", {"django_app_config_dir": "/etc"},
        "django_app_config_dir: '/etc' is a system directory", "Check the django_app settings",
        None),
    "django_app-config-dir-dotdot": Bad(
        "django_app", {"django_app_config_dir": "/etc/djangoops/../../root"},
        "django_app_config_dir: '/etc/djangoops/../../root' holds '..'", "Check the django_app settings",
        None),
    "django_app-extra-env-debug": Bad(
        "django_app", {"django_app_extra_env": {"DEBUG": "True"}},
        "django_app_extra_env sets DEBUG, which the role manages (from django_app_debug)", "Check the django_app settings",
        None),
    "django_app-extra-env-secret-key": Bad(
        "django_app", {"django_app_extra_env": {"DJANGO_SECRET_KEY": "x" * 60}},
        "django_app_extra_env sets DJANGO_SECRET_KEY, which the role manages", "Check the django_app settings",
        None),
    "django_app-secret-env-database-password": Bad(
        "django_app", {"django_app_secret_env": {"DATABASE_PASSWORD": "x" * 20}},
        "django_app_secret_env sets DATABASE_PASSWORD, which the role manages", "Check the django_app settings",
        None),
    "django_app-secret-env-also-extra": Bad(
        "django_app", {"django_app_secret_env": {"BROKER_URL": "redis://:pw@r/0"}, "django_app_extra_env": {"BROKER_URL": "x"}},
        "django_app_extra_env and django_app_secret_env both set BROKER_URL", "Check the django_app settings",
        None),
    "django_app-secret-env-newline": Bad(
        "django_app", {"django_app_secret_env": {"API_KEY": "x\nDEBUG=True"}},
        "django_app_secret_env API_KEY hold a newline", "Check the django_app settings",
        None),
    "django_app-processes-web": Bad(
        "django_app", {"django_app_processes": [{"name": "web", "command": "gunicorn"}]},
        "django_app_processes[0].name 'web' is the web's own", "Check the django_app settings",
        None),
    "django_app-processes-singleton-count": Bad(
        "django_app", {"django_app_processes": [{"name": "beat", "command": "celery beat", "singleton": True, "count": 3}]},
        "django_app_processes[0] (beat) is a singleton: it runs once on the whole site, so its count must be 1",
        "Check the django_app settings", None),
    "django_app-extra-env-newline": Bad(
        "django_app", {"django_app_extra_env": {"SENTRY_DSN": "x\nDEBUG=True"}},
        "django_app_extra_env values[0]: holds a newline", "Check the django_app settings",
        None),
    "django_app-extra-env-bad-key": Bad(
        "django_app", {"django_app_extra_env": {"MY KEY": "x"}},
        "django_app_extra_env keys[0]: 'MY KEY' is not an environment variable name", "Check the django_app settings",
        None),
    "django_app-environment-prod": Bad(
        "django_app", {"django_app_environment": "prod"},
        "django_app_environment must be one of", SPEC_TASK, None),
    "django_app-wildcard-host-in-production": Bad(
        "django_app", {"django_app_allowed_hosts": ["www.example.com", ".example.com", "*.example.com"]},
        "django_app_allowed_hosts[2]: '*.example.com': Django matches subdomains with a leading dot", "Check the django_app settings",
        None),
    "django_app-database-host-newline": Bad(
        "django_app", {"django_app_database_host": "db.example.com\nDEBUG=True"},
        "django_app_database_host: holds a newline", "Check the django_app settings",
        None),
    "django_app-multiline-secret": Bad(
        "django_app", {"django_app_database_password": "db-password\nDEBUG=True"},
        "django_app_database_password hold a newline or control character", "Check the django_app settings",
        None),
    "django_app-container-name-with-space": Bad(
        "django_app", {"django_app_name": "my polls"},
        "django_app_name: 'my polls' is not a container name", "Check the django_app settings",
        None),
    "django_app-tmpfs-relative": Bad(
        "django_app", {"django_app_tmpfs": ["tmp:rw,size=64m"]},
        "django_app_tmpfs[0]: 'tmp:rw,size=64m' is not a tmpfs mount \"<absolute path>:<mount options>\"", "Check the django_app settings",
        None),
    "django_app-secret-files-path-relative": Bad(
        "django_app", {"django_app_secret_files_path": "run/secrets/polls"},
        "django_app_secret_files_path must be an absolute path without spaces, colons or '..'", "Check the django_app settings",
        None),
    "django_app-secret-files-path-with-a-colon": Bad(
        "django_app", {"django_app_secret_files_path": "/run/secrets:rw"},
        "(got '/run/secrets:rw')", "Check the django_app settings",
        None),
    "django_app-secret-files-path-root": Bad(
        "django_app", {"django_app_secret_files_path": "/"},
        "django_app_secret_files_path must be an absolute path", "Check the django_app settings",
        None),
    "django_app-user-with-a-space": Bad(
        "django_app", {"django_app_user": "10001 10001"},
        "django_app_user: '10001 10001' is not a user as Docker's --user takes it", "Check the django_app settings",
        None),
    "nginx_proxy-health-port-443": Bad(
        "nginx_proxy", {"nginx_proxy_health_port": 443},
        "nginx_proxy_health_port must be a port 1-65535 other than 80 and 443", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-memory-in-words": Bad(
        "nginx_proxy", {"nginx_proxy_memory": "lots"},
        "nginx_proxy_memory: 'lots' is not a size such as 512m or 1g", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-capability-with-a-space": Bad(
        "nginx_proxy", {"nginx_proxy_cap_add": ["NET_BIND_SERVICE", "SYS ADMIN"]},
        "nginx_proxy_cap_add[1]: 'SYS ADMIN' is not a capability name", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-read-timeout-in-words": Bad(
        "nginx_proxy", {"nginx_proxy_upstream_read_timeout": "ten seconds"},
        "nginx_proxy_upstream_read_timeout: 'ten seconds' is not an Nginx time", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-body-size-with-a-directive": Bad(
        "nginx_proxy", {"nginx_proxy_client_max_body_size": "25m; autoindex on"},
        "nginx_proxy_client_max_body_size: '25m; autoindex on' is not an Nginx size", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-certificate-name-path": Bad(
        "nginx_proxy", {"nginx_proxy_certificate_name": "../../etc/ssl/private"},
        "nginx_proxy_certificate_name: '../../etc/ssl/private' is not a certificate name", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-upstream-name-with-brace": Bad(
        "nginx_proxy", {"nginx_proxy_upstream_name": "django { }"},
        "nginx_proxy_upstream_name: 'django { }' is not a name", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-config-dir-etc": Bad(
        "nginx_proxy", {"nginx_proxy_config_dir": "/etc/"},
        "nginx_proxy_config_dir: '/etc/' is a system directory", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "certbot-renew-minute-60": Bad(
        "certbot", {"certbot_renew_minute": 60},
        "certbot_renew_minute: 60 is not a schedule minute", "Check the certbot settings",
        "__certbot_problems"),
    "certbot-renew-hour-24": Bad(
        "certbot", {"certbot_renew_hour": "3,24"},
        "certbot_renew_hour: '3,24' is not a schedule hour", "Check the certbot settings",
        "__certbot_problems"),
    "certbot-domain-with-trailing-space": Bad(
        "certbot", {"certbot_domains": ["www.example.com "]},
        "certbot_domains[0]: 'www.example.com ' is not a DNS name", "Check the certbot settings",
        "__certbot_problems"),
    "certbot-cert-name-path": Bad(
        "certbot", {"certbot_cert_name": "a/b"},
        "certbot_cert_name: 'a/b' is not a certificate name", "Check the certbot settings",
        "__certbot_problems"),
    "ufw_docker-allow-all": Bad(
        "ufw_docker", {"ufw_docker_extra_allowed_sources": ["0.0.0.0/0"]},
        "ufw_docker_extra_allowed_sources[0]: '0.0.0.0/0' admits every address", "Check the ufw_docker settings",
        "__ufw_docker_problems"),
    "ufw_docker-allow-all-ipv6": Bad(
        "ufw_docker", {"ufw_docker_extra_allowed_sources": ["::/0"]},
        "set ufw_docker_allow_all_sources: true", "Check the ufw_docker settings",
        "__ufw_docker_problems"),
    "ufw_docker-cidr-that-does-not-parse": Bad(
        "ufw_docker", {"ufw_docker_extra_allowed_sources": ["10.0.0.0/33"]},
        "ufw_docker_extra_allowed_sources[0]: '10.0.0.0/33' is not an IP address or network", "Check the ufw_docker settings",
        "__ufw_docker_problems"),
    "site-port-out-of-range": Bad(
        "site", {"site_app_port": 70000},
        "site_app_port must be 1-65535 (got 70000)", "Check the site settings",
        "__site_problems"),
    "site-server-name-with-trailing-space": Bad(
        "site", {"site_server_names": ["www.example.com "]},
        "site_server_names must list DNS names", "Check the site settings",
        "__site_problems"),
    "site-group-name-with-colon": Bad(
        "site", {"site_app_group": "web:db"},
        "site_app_group and site_proxy_group must be inventory group names", "Check the site settings",
        "__site_problems"),
    # A role's own validation never sees a bad site setting: its dependency, the site role, stops first.
    "django_app-site-port-zero": Bad(
        "django_app", {"site_app_port": 0},
        "site_app_port must be 1-65535 (got 0)", "Check the site settings",
        "__site_problems"),
    "nginx_proxy-empty-server-names": Bad(
        "nginx_proxy", {"nginx_proxy_server_names": []},
        "nginx_proxy_server_names must list DNS names", "Check the nginx_proxy settings", "__nginx_proxy_problems"),
    # Maintenance mode (issue 22): what Nginx's geo block and header get, and the page read on the controller.
    "nginx_proxy-maintenance-allow-host-name": Bad(
        "nginx_proxy", {"nginx_proxy_maintenance_allow": ["192.0.2.10", "office.example.com"]},
        "nginx_proxy_maintenance_allow[1]: 'office.example.com' is not an IP address or network", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-maintenance-allow-as-text": Bad(
        "nginx_proxy", {"nginx_proxy_maintenance_allow": "192.0.2.10"},
        "nginx_proxy_maintenance_allow must be a list of addresses or networks", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-maintenance-retry-after-zero": Bad(
        "nginx_proxy", {"nginx_proxy_maintenance_retry_after": 0},
        "nginx_proxy_maintenance_retry_after must be a whole number of seconds above 0, such as 600 (got 0)",
        "Check the nginx_proxy settings", "__nginx_proxy_problems"),
    "nginx_proxy-maintenance-page-missing": Bad(
        "nginx_proxy", {"nginx_proxy_maintenance_page": "/nonexistent/maintenance.html"},
        "nginx_proxy_maintenance_page '/nonexistent/maintenance.html' is not the absolute path of a file on the controller",
        "Check the nginx_proxy settings", "__nginx_proxy_problems"),
    "nginx_proxy-maintenance-page-relative": Bad(
        "nginx_proxy", {"nginx_proxy_maintenance_page": "inventory.yml"},
        "nginx_proxy_maintenance_page 'inventory.yml' is not the absolute path", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    # Proxy limits (issue 23): rates, paths and counts that reach limit_req, location and limit_conn.
    "nginx_proxy-limit-rate-without-unit": Bad(
        "nginx_proxy", {"nginx_proxy_limit_req_rate": "20"},
        "nginx_proxy_limit_req_rate: '20' is not a request rate: write requests per second or minute, such as 20r/s",
        "Check the nginx_proxy settings", "__nginx_proxy_problems"),
    "nginx_proxy-limit-login-rate-per-hour": Bad(
        "nginx_proxy", {"nginx_proxy_limit_login_rate": "100r/h"},
        "nginx_proxy_limit_login_rate: '100r/h' is not a request rate", "Check the nginx_proxy settings", "__nginx_proxy_problems"),
    "nginx_proxy-limit-login-location-root": Bad(
        "nginx_proxy", {"nginx_proxy_limit_login_locations": ["/admin/login/", "/"]},
        "nginx_proxy_limit_login_locations[1]: '/' is every path: its limit is the general one (nginx_proxy_limit_req_rate)",
        "Check the nginx_proxy settings", "__nginx_proxy_problems"),
    "nginx_proxy-limit-location-relative-path": Bad(
        "nginx_proxy", {"nginx_proxy_limit_locations": [{"path": "api/", "rate": "50r/s", "burst": 100}]},
        "nginx_proxy_limit_locations[0]: 'api/' is not a URL path: start with '/'", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-limit-location-acme": Bad(
        "nginx_proxy", {"nginx_proxy_limit_locations": [{"path": "/.well-known/acme-challenge/", "rate": "1r/s"}]},
        "nginx_proxy_limit_locations[0]: '/.well-known/acme-challenge/' would take ACME challenges away",
        "Check the nginx_proxy settings", "__nginx_proxy_problems"),
    "nginx_proxy-limit-location-bad-rate": Bad(
        "nginx_proxy", {"nginx_proxy_limit_locations": [{"path": "/api/", "rate": "50 per second", "burst": 100}]},
        "nginx_proxy_limit_locations[0]: '50 per second' is not a request rate", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-limit-location-negative-burst": Bad(
        "nginx_proxy", {"nginx_proxy_limit_locations": [{"path": "/api/", "rate": "50r/s", "burst": -5}]},
        "nginx_proxy_limit_locations[0]: burst -5 of /api/ is not a whole number of requests of 0 or more",
        "Check the nginx_proxy settings", "__nginx_proxy_problems"),
    "nginx_proxy-limit-location-without-path": Bad(
        "nginx_proxy", {"nginx_proxy_limit_locations": [{"rate": "50r/s"}]},
        "missing required arguments: path found in nginx_proxy_limit_locations", SPEC_TASK, None),
    "nginx_proxy-limit-path-twice": Bad(
        "nginx_proxy", {"nginx_proxy_limit_locations": [{"path": "/admin/login/", "rate": "1r/s"}]},
        "nginx_proxy_limit_login_locations and the paths of nginx_proxy_limit_locations must each name a path once",
        "Check the nginx_proxy settings", "__nginx_proxy_problems"),
    "nginx_proxy-limit-negative-burst": Bad(
        "nginx_proxy", {"nginx_proxy_limit_req_burst": -1},
        "nginx_proxy_limit_req_burst, nginx_proxy_limit_login_burst and nginx_proxy_limit_conn must be whole numbers of 0 or more",
        "Check the nginx_proxy settings", "__nginx_proxy_problems"),
    "nginx_proxy-limit-retry-after-zero": Bad(
        "nginx_proxy", {"nginx_proxy_limit_retry_after": 0},
        "nginx_proxy_limit_retry_after must be a whole number of seconds above 0, such as 60 (got 0)",
        "Check the nginx_proxy settings", "__nginx_proxy_problems"),
    "nginx_proxy-header-timeout-in-words": Bad(
        "nginx_proxy", {"nginx_proxy_client_header_timeout": "10 seconds"},
        "nginx_proxy_client_header_timeout: '10 seconds' is not an Nginx time", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
    "nginx_proxy-header-buffers-without-number": Bad(
        "nginx_proxy", {"nginx_proxy_large_client_header_buffers": "8k"},
        "nginx_proxy_large_client_header_buffers: '8k' is not a number and size of buffers", "Check the nginx_proxy settings",
        "__nginx_proxy_problems"),
}

# Good input as strings, as INI group vars and `-e name=value` deliver it: the spec converts the
# value for its own check, but tasks/validate.yml sees the unconverted string.
GOOD_AS_STRINGS = {
    "django_app-port-as-string": ("django_app", {"django_app_published_port": "8000"},
                                  "'<=' between str and int in the published port check"),
    "certbot-renew-before-as-string": ("certbot", {"certbot_renew_before": "0.5"},
                                       "'>' between str and int in the renew_before check"),
    "ufw_docker-ports-as-strings": ("ufw_docker", {"ufw_docker_ports": ["8000"]},
                                    "'ge' test between str and int in the port range check"),
}

RECAP = re.compile(
    r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.MULTILINE)
ERROR = re.compile(r"^\[ERROR\]: (.*?)^Origin:", re.MULTILINE | re.DOTALL)
TASK = re.compile(r"^TASK \[(?:djangoops\.fleet\.\w+ : )?([^\]\n]*)\]", re.MULTILINE)
ASSERTION = re.compile(r"^\s+assertion: (.*)$", re.MULTILINE)


class Run(t.NamedTuple):
    returncode: int
    output: str
    recap: dict[str, int]


class Validation:
    """ansible-playbook with this checkout as djangoops.fleet, the project's ansible.cfg, a private home."""

    def __init__(self, tmp_path: pathlib.Path, env: dict[str, str], ansible_playbook: pathlib.Path) -> None:
        self.tmp_path = tmp_path
        self.ansible_playbook = ansible_playbook
        self.inventory = tmp_path / "inventory.yml"
        self.inventory.write_text(INVENTORY)
        self.env = env

    def run(self, role: str, variables: dict) -> Run:
        playbook = self.tmp_path / "validate-{}.yml".format(role)
        playbook.write_text(PLAYBOOK.format(role=role, host=HOSTS[role]))
        # Extra vars (JSON keeps the types) outrank the role defaults, as inventory values would.
        extra_vars = self.tmp_path / "vars.json"
        extra_vars.write_text(json.dumps(variables))
        process = subprocess.run(
            [str(self.ansible_playbook), "-i", str(self.inventory), str(playbook), "-e", "@%s" % extra_vars],
            env=self.env, cwd=self.tmp_path, capture_output=True, text=True, timeout=300, check=False,
        )
        output = process.stdout + process.stderr
        recaps = {match[0]: match[1:] for match in RECAP.findall(output)}
        assert list(recaps) == [HOSTS[role]], output
        ok, _changed, unreachable, failed, skipped = (int(n) for n in recaps[HOSTS[role]])
        assert unreachable == 0, output
        return Run(process.returncode, output, {"ok": ok, "failed": failed, "skipped": skipped})


def _failed_tasks(output: str) -> list[str]:
    """Names of the tasks whose section of the output reports a host as fatal."""
    starts = list(TASK.finditer(output))
    ends = [match.start() for match in starts[1:]] + [len(output)]
    return [
        match[1] for match, end in zip(starts, ends)
        if re.search(r"^fatal: ", output[match.end():end], re.MULTILINE)
    ]


@pytest.fixture
def validation(tmp_path: pathlib.Path, isolated_ansible_env: t.Callable, ansible_playbook: pathlib.Path) -> Validation:
    return Validation(tmp_path, isolated_ansible_env(tmp_path), ansible_playbook)


def _with(role: str, overrides: dict) -> dict:
    variables = dict(GOOD[role])
    for name, value in overrides.items():
        if value is DROP:
            variables.pop(name, None)
        else:
            variables[name] = value
    return variables


def test_cases_cover_every_role() -> None:
    assert set(GOOD) == set(ROLES) == {case.role for case in BAD_CASES.values()}


@pytest.mark.parametrize("role", sorted(GOOD))
def test_good_input_passes_validation(validation: Validation, role: str) -> None:
    run = validation.run(role, GOOD[role])
    assert run.returncode == 0, run.output
    assert run.recap == GOOD_RECAP[role], run.output


def test_maintenance_settings_that_nginx_takes_pass_validation(validation: Validation) -> None:
    run = validation.run("nginx_proxy", _with("nginx_proxy", {
        "nginx_proxy_maintenance_allow": ["192.0.2.10", "198.51.100.0/24", "2001:db8:42::/48"],
        "nginx_proxy_maintenance_retry_after": "120",  # as `-e name=value` gives it
        "nginx_proxy_maintenance_page": str(validation.inventory),  # any file on the controller
    }))
    assert run.returncode == 0, run.output
    assert run.recap == GOOD_RECAP["nginx_proxy"], run.output


def test_ssh_sources_pass_validation_where_the_run_is_not_over_ssh(validation: Validation) -> None:
    run = validation.run("ufw_docker", _with("ufw_docker", {"ufw_docker_ssh_sources": ["192.0.2.7", "2001:db8::/48"]}))
    assert run.returncode == 0, run.output
    # A local connection has no SSH_CONNECTION: nothing to lock out (module_utils/test__ufw.py has the rest).
    assert run.recap == dict(GOOD_RECAP["ufw_docker"], ok=GOOD_RECAP["ufw_docker"]["ok"] + 2, skipped=0), run.output


def test_an_absolute_static_ca_bundle_that_is_a_file_passes_validation(validation: Validation) -> None:
    run = validation.run("django_app", _with("django_app", {"django_app_static_ca_bundle": str(validation.inventory)}))
    assert run.returncode == 0, run.output
    # The storage CA bundle rules passed (and the site role's tasks).
    assert run.recap == GOOD_RECAP["django_app"], run.output


@pytest.mark.parametrize(
    "role, overrides",
    [
        pytest.param(role, overrides, id=case_id)
        for case_id, (role, overrides, _why) in GOOD_AS_STRINGS.items()
    ],
)
def test_good_input_as_strings_passes_validation(validation: Validation, role: str, overrides: dict) -> None:
    run = validation.run(role, _with(role, overrides))
    assert run.returncode == 0, run.output
    assert run.recap == GOOD_RECAP[role], run.output


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, id=case_id)
        for case_id, case in BAD_CASES.items()
    ],
)
def test_bad_input_fails_naming_the_variable(validation: Validation, case: Bad) -> None:
    run = validation.run(case.role, _with(case.role, case.overrides))
    assert run.returncode != 0, run.output
    assert run.recap["failed"] == 1, run.output
    failed_tasks = _failed_tasks(run.output)
    assert len(failed_tasks) == 1 and failed_tasks[0].startswith(case.task), run.output
    errors = ERROR.findall(run.output)
    assert len(errors) == 1, run.output
    # Ansible wraps nothing here, but the spec's message may break lines: compare on one line.
    assert case.culprit in " ".join(errors[0].split()), run.output
    conditions = ASSERTION.findall(run.output)
    if case.condition_names is None:
        assert conditions == [], run.output
    else:
        assert len(conditions) == 1 and case.condition_names in conditions[0], run.output
