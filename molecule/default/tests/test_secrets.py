"""No secret is left on any server outside the app's env file and its secret files, and none shows in
`docker inspect`: the lab's inventory gives the example app its secrets as files (django_app_secret_files),
root-owned and readable by the app's group alone, mounted read-only where the env file's KEY_FILE paths point."""

from __future__ import annotations

import json

import pytest

from conftest import server, server_hosts


pytestmark = pytest.mark.readonly

testinfra_hosts = server_hosts("django_app") + server_hosts("nginx_proxy")

CONFIG_DIR = "/etc/djangoops/polls"
SECRET_DIR = f"{CONFIG_DIR}/secrets"
MOUNT = "/run/secrets/polls"  # django_app_secret_files_path's default for django_app_name polls
# The env file's secret variables and the lab secret each holds (tasks/settings.yml, inventories/lab).
SECRET_FILES = {"DJANGO_SECRET_KEY": "django_secret_key", "DATABASE_PASSWORD": "database_password",
                "STATIC_SECRET_KEY": "s3_secret_key"}
# Never on a server at all: the admin password is hashed on the controller.
LAB_SECRETS = [*SECRET_FILES.values(), "admin_password"]


def _lab_secrets(lab) -> dict[str, str]:
    return {name: lab.secret(name) for name in LAB_SECRETS}


def test_no_secret_outside_the_env_file_and_the_secret_files(host, lab):
    # Search the places a careless role would leave them: configs, /tmp, home directories, cron.
    for name, secret in _lab_secrets(lab).items():
        found = host.run(
            "grep -rlF -- %s /etc /tmp /home /root /var/spool/cron /usr/local 2>/dev/null", secret
        ).stdout.split()
        variable = next((variable for variable, lab_name in SECRET_FILES.items() if lab_name == name), None)
        # With django_app_secret_files, a secret's own file alone holds it; the env file holds its path.
        allowed = [f"{SECRET_DIR}/{variable}"] if variable else []
        assert found in ([], allowed), (name, found)


def test_docker_inspect_shows_no_secret_only_the_files_paths(lab):
    for name in lab.app_servers:
        _inspect_shows_no_secret(lab, name)


def _inspect_shows_no_secret(lab, name: str) -> None:
    app = server(name)
    # Every container on the app server (the web, a standby or process container, a one-off left behind).
    everything = app.check_output("docker inspect $(docker ps -aq)")
    for secret_name, secret in _lab_secrets(lab).items():
        assert secret not in everything, f"{name}: the {secret_name} shows in docker inspect"
    polls = json.loads(app.check_output("docker inspect polls"))[0]
    env = dict(entry.split("=", 1) for entry in polls["Config"]["Env"])
    for variable in SECRET_FILES:
        assert env.get(f"{variable}_FILE") == f"{MOUNT}/{variable}", (name, variable, sorted(env))
        assert variable not in env, (name, variable)
    # The non-secret settings stay in the environment.
    assert env.get("DATABASE_USERNAME") == lab.all_vars["django_app_database_user"], sorted(env)
    mounts = [mount for mount in polls["Mounts"] if mount.get("Destination") == MOUNT]
    assert [(mount["Type"], mount["Source"], mount["RW"]) for mount in mounts] == [("bind", SECRET_DIR, False)], polls["Mounts"]
    # A changed secret replaces the container, though its environment holds paths only.
    assert len(polls["Config"]["Labels"].get("djangoops.fleet.settings-hmac", "")) == 64, polls["Config"]["Labels"]


def test_the_secret_files_are_roots_and_readable_by_the_apps_group_alone(lab):
    for name in lab.app_servers:
        _secret_files_guarded(lab, name)


def _secret_files_guarded(lab, name: str) -> None:
    app = server(name)
    gid = app.check_output("docker exec polls id -g")
    assert gid not in ("", "0"), gid  # the example image's user app (10001), not root's group
    assert app.check_output(f"stat -c '%U %g %a %F' {SECRET_DIR}") == f"root {gid} 750 directory"
    assert sorted(app.check_output(f"ls -A {SECRET_DIR}").split()) == sorted(SECRET_FILES)
    for variable, lab_name in SECRET_FILES.items():
        path = f"{SECRET_DIR}/{variable}"
        assert app.check_output(f"stat -c '%U %g %a %F' {path}") == f"root {gid} 440 regular file", (name, path)
        # The value alone, without a trailing newline.
        assert app.run(f"cat {path}").stdout == lab.secret(lab_name), path
    # The env file names the files and holds no secret.
    env_file = app.check_output(f"cat {CONFIG_DIR}/env")
    assert f"DJANGO_SECRET_KEY_FILE={MOUNT}/DJANGO_SECRET_KEY" in env_file.splitlines()
    for secret in _lab_secrets(lab).values():
        assert secret not in env_file


def test_in_the_container_the_app_user_reads_the_secrets_and_another_user_cannot(lab):
    for name in lab.app_servers:
        _readable_by_the_app_alone(lab, name)


def _readable_by_the_app_alone(lab, name: str) -> None:
    app = server(name)
    path = f"{MOUNT}/DJANGO_SECRET_KEY"
    assert app.run(f"docker exec polls cat {path}").stdout == lab.secret("django_secret_key"), name
    other = app.run(f"docker exec -u 12345:12345 polls cat {path}")
    assert other.rc != 0 and "Permission denied" in other.stderr, (name, other.rc, other.stderr)
    assert lab.secret("django_secret_key") not in other.stdout
    # Read-only for the app user too.
    write = app.run(f"docker exec polls sh -c 'echo x > {path}'")
    assert write.rc != 0, write.stderr
