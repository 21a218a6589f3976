# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every container a role starts gets the same hardening, from one variable of the role's vars/main.yml
(django_app: ``__django_app_security``, nginx_proxy: ``__nginx_proxy_security``): each
``community.docker.docker_container`` task that starts a container (it names an image) sets every hardening
option from that variable, so that the kinds of container of a role (django_app: web and standby, process
kinds, one-offs; nginx_proxy: the server and its nginx -t tests) cannot drift apart; and the variable,
resolved from the role's defaults, is what the README promises.

django_app's containers that run with the app's env file likewise take their mounts whole from ``__django_app_volumes``,
which holds the secret files' mount when ``django_app_secret_files`` is on: a task that forgot it would start a
container whose ``KEY_FILE`` paths point nowhere."""

from __future__ import annotations

import pathlib
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

ROLES = pathlib.Path(__file__).resolve().parents[3] / "roles"
MODULE = "community.docker.docker_container"
# Per role: its hardening variable, the docker_container options it sets (each must come from
# <variable>.<option>), and the task files that start containers.
HARDENED = {
    "django_app": ("__django_app_security",
                   ("user", "read_only", "tmpfs", "cap_drop", "capabilities", "security_opts", "pids_limit", "memory"),
                   ["container.yml", "oneoff.yml", "processes.yml", "settings.yml"]),
    "nginx_proxy": ("__nginx_proxy_security",
                    ("read_only", "tmpfs", "cap_drop", "capabilities", "security_opts", "pids_limit", "memory"),
                    ["config_test.yml", "container.yml"]),
}


def _load(path: pathlib.Path) -> t.Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _tasks(block: list) -> t.Iterator[dict]:
    for task in block or []:
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))
        yield task


def _starting_tasks(role: str) -> list[tuple[str, dict]]:
    """Every docker_container task of the role that starts a container (names an image), by file and name."""
    found = []
    for path in sorted((ROLES / role / "tasks").glob("*.yml")):
        for task in _tasks(_load(path)):
            if MODULE in task and "image" in (task[MODULE] or {}):
                found.append(("%s: %s" % (path.name, task.get("name")), task[MODULE]))
    return found


@pytest.mark.parametrize("role", HARDENED)
def test_the_containers_the_role_starts_are_the_known_ones(role: str) -> None:
    # A new kind of container must be added here, and so checked below.
    assert sorted(where.split(":")[0] for where, _args in _starting_tasks(role)) == HARDENED[role][2]


def _option_params() -> list[t.Any]:
    return [pytest.param(role, where, args, option, id="%s-%s-%s" % (role, where.split(":")[0], option))
            for role, (_variable, options, _files) in HARDENED.items()
            for where, args in _starting_tasks(role) for option in options]


@pytest.mark.parametrize("role, where, args, option", _option_params())
def test_every_container_takes_each_option_from_the_shared_hardening(role: str, where: str, args: dict, option: str) -> None:
    variable = HARDENED[role][0]
    assert option in args, "%s does not set %s" % (where, option)
    assert "%s.%s" % (variable, option) in str(args[option]), (
        "%s sets %s to %r, not from %s" % (where, option, args[option], variable))


@pytest.mark.parametrize("role", HARDENED)
def test_the_shared_hardening_sets_exactly_these_options(role: str) -> None:
    variable, options, _files = HARDENED[role]
    assert sorted(_load(ROLES / role / "vars" / "main.yml")[variable]) == sorted(options)


def _trusted(value: t.Any) -> t.Any:
    """Role files' strings, nested ones too, as templates (as Ansible trusts them)."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    return value


def _resolve(role: str, name: str, **inventory: t.Any) -> t.Any:
    """A variable of the role as a play resolves it from the role's defaults and vars, and the inventory."""
    variables = {**_load(ROLES / "site" / "defaults" / "main.yml"), **_load(ROLES / role / "defaults" / "main.yml"),
                 **_load(ROLES / role / "vars" / "main.yml"), **inventory}
    variables = {key: _trusted(value) for key, value in variables.items()}
    return Templar(loader=DataLoader(), variables=variables).template(variables[name])


def _security(**inventory: t.Any) -> dict:
    return _resolve("django_app", "__django_app_security", **inventory)


def test_the_defaults_harden_every_container() -> None:
    assert _security(__django_app_image_user="app") == {
        "user": "app",
        "read_only": True,
        "tmpfs": ["/tmp:rw,noexec,nosuid,nodev,size=128m"],
        "cap_drop": ["ALL"],
        "capabilities": [],
        "security_opts": ["no-new-privileges"],
        "pids_limit": 512,
        "memory": "1g",
    }


@pytest.mark.parametrize("inventory, expected", [
    # django_app_user wins over the image's USER.
    ({"django_app_user": "10001:10001", "__django_app_image_user": ""}, {"user": "10001:10001"}),
    # An image not inspected (check mode without a pull): the user is left to the image (the task omits "").
    ({}, {"user": ""}),
    ({"django_app_read_only": False, "django_app_no_new_privileges": False, "django_app_pids_limit": 0,
      "django_app_memory": ""}, {"read_only": False, "security_opts": [], "pids_limit": 0, "memory": "0"}),
    ({"django_app_memory": "0", "django_app_cap_add": ["NET_BIND_SERVICE"]}, {"memory": "0", "capabilities": ["NET_BIND_SERVICE"]}),
    # -e django_app_read_only=false arrives as a string.
    ({"django_app_read_only": "false", "django_app_pids_limit": "-1"}, {"read_only": False, "pids_limit": 0}),
])
def test_the_settings_reach_the_shared_hardening(inventory: dict, expected: dict) -> None:
    security = _security(**inventory)
    assert {key: security[key] for key in expected} == expected


def test_the_defaults_harden_the_nginx_containers() -> None:
    assert _resolve("nginx_proxy", "__nginx_proxy_security") == {
        "read_only": True,
        "tmpfs": ["/tmp:rw,noexec,nosuid,nodev,size=64m"],
        "cap_drop": ["ALL"],
        # What the master process needs: ports 80 and 443, workers started as user nginx, its temp directories
        # handed to that user.
        "capabilities": ["CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"],
        "security_opts": ["no-new-privileges"],
        "pids_limit": 256,
        "memory": "256m",
    }


def test_the_nginx_tmpfs_is_where_nginx_conf_writes() -> None:
    runtime_dir = _resolve("nginx_proxy", "__nginx_proxy_runtime_dir")
    tmpfs = _resolve("nginx_proxy", "__nginx_proxy_security", nginx_proxy_tmpfs_size="1g")["tmpfs"]
    assert tmpfs == [runtime_dir + ":rw,noexec,nosuid,nodev,size=1g"]
    template = (ROLES / "nginx_proxy" / "templates" / "nginx.conf.j2").read_text()
    assert "pid {{ __nginx_proxy_runtime_dir }}/nginx.pid;" in template


# --- The app's mounts, the secret files' among them ---------------------------------------------------

def _app_tasks() -> list[tuple[str, dict]]:
    """django_app's containers that run with the app's settings (the env file)."""
    return [(where, args) for where, args in _starting_tasks("django_app") if "env_file" in args]


def test_the_containers_with_the_settings_are_the_known_ones() -> None:
    # The web and standby, the process kinds, the one-offs; the probe of the image's user (settings.yml) has none.
    assert sorted(where.split(":")[0] for where, _args in _app_tasks()) == ["container.yml", "oneoff.yml", "processes.yml"]


@pytest.mark.parametrize("where, args", [pytest.param(where, args, id=where.split(":")[0]) for where, args in _app_tasks()])
def test_every_container_with_the_settings_takes_the_shared_mounts(where: str, args: dict) -> None:
    assert args.get("volumes") == "{{ __django_app_volumes }}", "%s does not mount __django_app_volumes whole" % where
    assert args.get("env_file") == "{{ __django_app_env_file }}", where


def test_the_probe_of_the_image_user_gets_no_settings_and_no_secrets() -> None:
    probes = [args for where, args in _starting_tasks("django_app") if where.startswith("settings.yml")]
    assert len(probes) == 1
    assert not {"env_file", "env", "volumes"} & set(probes[0]) and probes[0]["network_mode"] == "none"


@pytest.mark.parametrize("inventory, expected", [
    ({}, []),
    ({"django_app_secret_files": True}, ["/etc/djangoops/polls/secrets:/run/secrets/polls:ro"]),
    # -e django_app_secret_files=false arrives as a string.
    ({"django_app_secret_files": "false"}, []),
    ({"django_app_secret_files": True, "django_app_secret_files_path": "/secrets", "django_app_config_dir": "/srv/polls"},
     ["/srv/polls/secrets:/secrets:ro"]),
])
def test_the_secret_files_are_mounted_read_only_where_the_env_file_points(inventory: dict, expected: list) -> None:
    assert _resolve("django_app", "__django_app_volumes", **inventory) == expected


def test_the_secret_files_label_the_long_running_containers_with_the_settings_fingerprint() -> None:
    env = {"fingerprint": "f" * 64}
    assert _resolve("django_app", "__django_app_labels", __django_app_env=env) == {}
    assert _resolve("django_app", "__django_app_labels", __django_app_env=env, django_app_secret_files=True) == {
        "djangoops.fleet.settings-hmac": "f" * 64}
    for where, args in _app_tasks():
        if "restart_policy" in args:  # the web, standby and process kinds; a one-off is new every run
            assert "__django_app_labels" in str(args["labels"]), where


@pytest.mark.parametrize("inventory, expected", [
    # A numeric "<uid>:<gid>" names it, from django_app_user or the image's USER.
    ({"django_app_user": "10001:10002"}, "10002"),
    ({"__django_app_image_user": "10001:10003"}, "10003"),
    # Root (also no USER, or an image not inspected): group 0.
    ({"__django_app_image_user": ""}, "0"),
    ({"__django_app_image_user": "root"}, "0"),
    ({"django_app_user": "0"}, "0"),
    # A name or a uid alone: what `id` said in a container of the image.
    ({"__django_app_image_user": "app", "__django_app_user_ids": {"container": {"Output": "uid=10001(app) gid=10004(app) groups=10004(app)\n"}}},
     "10004"),
    ({"__django_app_image_user": "10001", "__django_app_user_ids": {"container": {"Output": "uid=10001 gid=0(root) groups=0(root)\n"}}},
     "0"),
    # Not asked (check mode without the image) or no answer: unknown, which tasks/settings.yml stops on.
    ({"__django_app_image_user": "app"}, ""),
    ({"__django_app_image_user": "app", "__django_app_user_ids": {"msg": "executable file not found"}}, ""),
])
def test_the_secret_files_group_is_the_app_users(inventory: dict, expected: str) -> None:
    assert str(_resolve("django_app", "__django_app_secret_gid", django_app_name="polls", **inventory)).strip() == expected
