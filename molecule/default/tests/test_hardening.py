"""Every kind of container the collection starts on the lab's main site, compared with the CIS Docker Benchmark's
section 5 (container runtime) checks that `docker inspect` can show: the app's web container on every app server,
Nginx on every proxy, a one-off (playbooks/manage.yml running a command that sleeps, inspected while it runs) and
a Certbot container (a forced renewal on a proxy, inspected while it runs). Each check, for each kind, either
passes or is a declared deviation whose reason names the setting that decides it (and what its comment says).
The check fails on an undeclared deviation and on a declared one that no longer occurs, and prints the table.
Besides: the app runs as its image's non-root user, and a release whose image would run as root is refused on
every app server before its env file or any container changes."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import pytest

from conftest import StartedPlaybook, run_playbook, server

pytestmark = pytest.mark.changes_lab

RENEW = "/usr/local/sbin/djangoops-certbot-renew"  # the certbot role's renewal job
CERTBOT_CONTAINER = "djangoops-certbot-renew"  # the name the job gives its Certbot container
ONEOFF_LABEL = "djangoops.fleet.oneoff=polls"  # django_app's one-off containers (vars/main.yml)
TUTORIAL = "1.0.1"  # tests/lab/images/polls-tutorial: no USER line, runs as root
KINDS = ("app", "nginx", "oneoff", "certbot")


@dataclass(frozen=True)
class Deviation:
    """A check a kind of container does not pass, on purpose: why, citing the setting and its comment."""

    reason: str


PASSES = "passes"


def _caps(values) -> set[str]:
    return {str(value).upper().removeprefix("CAP_") for value in values or []}


def _mounts(inspect: dict) -> list[dict]:
    return inspect.get("Mounts") or []


def _security_opts(inspect: dict) -> list[str]:
    return [str(option).replace(":", "=") for option in inspect["HostConfig"].get("SecurityOpt") or []]


def _host_ips(inspect: dict) -> list[str]:
    return [binding.get("HostIp", "") for bindings in (inspect["HostConfig"].get("PortBindings") or {}).values()
            for binding in bindings or []]


def _restart_ok(inspect: dict) -> bool:
    policy = inspect["HostConfig"].get("RestartPolicy") or {}
    name, retries = policy.get("Name") or "no", policy.get("MaximumRetryCount") or 0
    return name == "no" or (name == "on-failure" and 0 < retries <= 5)


SENSITIVE = {"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"}

# CIS Docker Benchmark section 5, the checks `docker inspect` answers: id -> (what it asks, does this container pass).
CHECKS = {
    "5.3": ("Linux capabilities restricted (all dropped, none added)",
            lambda c: "ALL" in _caps(c["HostConfig"].get("CapDrop")) and not _caps(c["HostConfig"].get("CapAdd"))),
    "5.4": ("not privileged", lambda c: not c["HostConfig"].get("Privileged")),
    "5.5": ("no sensitive host directory mounted",
            lambda c: not [m for m in _mounts(c) if m.get("Type") == "bind" and ((m.get("Source") or "").rstrip("/") or "/") in SENSITIVE]),
    "5.9": ("host network namespace not shared", lambda c: c["HostConfig"].get("NetworkMode") != "host"),
    "5.10": ("memory limited", lambda c: (c["HostConfig"].get("Memory") or 0) > 0),
    "5.11": ("CPU shares set", lambda c: (c["HostConfig"].get("CpuShares") or 0) > 0),
    "5.12": ("root file system read-only", lambda c: bool(c["HostConfig"].get("ReadonlyRootfs"))),
    "5.13": ("published ports bound to a specific host address",
             lambda c: not [ip for ip in _host_ips(c) if ip in ("", "0.0.0.0", "::")]),
    "5.14": ("restart policy no, or on-failure at most 5 times", _restart_ok),
    "5.15": ("host PID namespace not shared", lambda c: c["HostConfig"].get("PidMode") != "host"),
    "5.16": ("host IPC namespace not shared", lambda c: c["HostConfig"].get("IpcMode") != "host"),
    "5.17": ("no host device exposed", lambda c: not c["HostConfig"].get("Devices")),
    "5.19": ("no shared mount propagation", lambda c: not [m for m in _mounts(c) if m.get("Propagation") in ("shared", "rshared")]),
    "5.20": ("host UTS namespace not shared", lambda c: c["HostConfig"].get("UTSMode") != "host"),
    "5.21": ("default seccomp profile not disabled", lambda c: "seccomp=unconfined" not in _security_opts(c)),
    "5.25": ("no-new-privileges",
             lambda c: bool({"no-new-privileges", "no-new-privileges=true"} & set(_security_opts(c)))),
    "5.26": ("health check", lambda c: (c["Config"].get("Healthcheck") or {}).get("Test") not in (None, [], ["NONE"])),
    "5.28": ("PIDs limit", lambda c: (c["HostConfig"].get("PidsLimit") or 0) > 0),
    "5.29": ("not on Docker's default bridge",
             lambda c: c["HostConfig"].get("NetworkMode") not in ("default", "bridge")
             and "bridge" not in ((c.get("NetworkSettings") or {}).get("Networks") or {})),
    "5.30": ("host user namespace not shared", lambda c: c["HostConfig"].get("UsernsMode") != "host"),
    "5.31": ("Docker socket not mounted", lambda c: not [m for m in _mounts(c) if (m.get("Source") or "").endswith("docker.sock")]),
}

CPU_SHARES = Deviation("no container sets CPU shares, a relative weight that only matters between containers "
                       "competing for a CPU: each server runs one app (or one Nginx); django_app_cpus caps the app in "
                       "CPUs where wanted ('CPUs of the app container (e.g. 0.5; 0 for none)')")
DEFAULT_BRIDGE = ("on Docker's default network, as the roles start every container (no network of their own to "
                  "manage on each server); ")

EXPECTED: dict[str, dict[str, str | Deviation]] = {
    "5.3": {"app": PASSES, "oneoff": PASSES, "certbot": PASSES,
            "nginx": Deviation("adds CHOWN, NET_BIND_SERVICE, SETGID, SETUID: nginx_proxy_cap_add, 'what the master "
                               "process needs: NET_BIND_SERVICE (ports 80 and 443), SETUID and SETGID (it starts the "
                               "workers as user nginx), CHOWN (it hands its temporary directories to that user)'")},
    "5.4": dict.fromkeys(KINDS, PASSES),
    "5.5": dict.fromkeys(KINDS, PASSES),
    "5.9": dict.fromkeys(KINDS, PASSES),
    "5.10": dict.fromkeys(KINDS, PASSES),
    "5.11": dict.fromkeys(KINDS, CPU_SHARES),
    "5.12": dict.fromkeys(KINDS, PASSES),
    "5.13": {"app": PASSES, "oneoff": PASSES, "certbot": PASSES,
             "nginx": Deviation("publishes 80 and 443 on 0.0.0.0 (and [::] with nginx_proxy_publish_ipv6): public by "
                                "design, the site's entry; the app publishes on the private address "
                                "(django_app_published_address: 'where the proxies reach it, so the port is never "
                                "bound on a public address')")},
    "5.14": {"oneoff": PASSES, "certbot": PASSES,
             "app": Deviation("unless-stopped: django_app_restart_policy, 'Restarted after crashes and reboots, but not "
                              "after an explicit docker stop' (a site that stops after five crashes is down)"),
             "nginx": Deviation("unless-stopped: nginx_proxy_restart_policy, Docker's restart policy of the Nginx "
                                "container (the site's entry comes back after a reboot)")},
    "5.15": dict.fromkeys(KINDS, PASSES),
    "5.16": dict.fromkeys(KINDS, PASSES),
    "5.17": dict.fromkeys(KINDS, PASSES),
    "5.19": dict.fromkeys(KINDS, PASSES),
    "5.20": dict.fromkeys(KINDS, PASSES),
    "5.21": dict.fromkeys(KINDS, PASSES),
    "5.25": dict.fromkeys(KINDS, PASSES),
    "5.26": {"app": PASSES, "nginx": PASSES,
             "oneoff": Deviation("runs one command to its end; its exit status is its check (tasks/oneoff.yml: 'a "
                                 "failing command fails the run with its last lines')"),
             "certbot": Deviation("runs one Certbot order to its end; its exit status and the certificate it leaves "
                                  "are checked (certbot_certificate; the renewal job checks what Nginx serves)")},
    "5.28": dict.fromkeys(KINDS, PASSES),
    "5.29": {"app": Deviation(DEFAULT_BRIDGE + "its published port is closed to all but the proxies "
                              "(django_app_firewall: 'which firewall guards the app port before it is published')"),
             "nginx": Deviation(DEFAULT_BRIDGE + "only 80 and 443 are published"),
             "oneoff": Deviation(DEFAULT_BRIDGE + "nothing is published"),
             "certbot": Deviation(DEFAULT_BRIDGE + "certbot_certificate's docker_network ('Defaults to Docker's "
                                  "default bridge') picks another")},
    "5.30": dict.fromkeys(KINDS, PASSES),
    "5.31": dict.fromkeys(KINDS, PASSES),
}


def _inspect(host: str, container: str) -> dict:
    return json.loads(server(host).check_output(f"docker inspect {container}"))[0]


def _first_running(host: str, filters: str, deadline: float) -> str:
    """The ID of the first running container matching the `docker ps` filters, polled until the deadline."""
    while time.monotonic() < deadline:
        found = server(host).run(f"docker ps -q {filters}").stdout.split()
        if found:
            return found[0]
        time.sleep(0.2)
    return ""


def _oneoff(lab) -> list[dict]:
    """A one-off container of manage.yml, inspected while its command sleeps."""
    first = next(iter(lab.app_servers))
    run = StartedPlaybook("playbooks/manage.yml", "-e",
                          json.dumps({"django_app_manage_args": ["shell", "-c", "import time; time.sleep(30)"]}))
    try:
        found = _first_running(first, f"--filter label={ONEOFF_LABEL}", time.monotonic() + 420)
        inspected = [_inspect(first, found)] if found else []
    finally:
        done = run.wait()
    assert done.returncode == 0, done.stdout[-5000:]
    assert inspected, f"no one-off container ran on {first}: {done.stdout[-3000:]}"
    return inspected


def _certbot(lab) -> list[dict]:
    """The Certbot container of a forced renewal on the first proxy, inspected while it runs."""
    proxy = next(iter(lab.proxies))
    renewal: dict = {}
    worker = threading.Thread(target=lambda: renewal.update(run=server(proxy).run(f"{RENEW} --force-renewal")))
    worker.start()
    try:
        found = _first_running(proxy, f"--filter name=^{CERTBOT_CONTAINER}$", time.monotonic() + 300)
        inspected = [_inspect(proxy, found)] if found else []
    finally:
        worker.join(timeout=900)
    run = renewal["run"]
    assert run.rc == 0, run.stdout + run.stderr
    assert inspected, f"no Certbot container ran on {proxy}: {run.stdout}"
    return inspected


def _table(results: dict[str, dict[str, list[bool]]]) -> tuple[str, list[str]]:
    """The comparison as text, and what disagrees with EXPECTED."""
    lines = ["check  " + "".join(f"{kind:<14}" for kind in KINDS) + "what"]
    problems = []
    for check, (what, _test) in CHECKS.items():
        cells = []
        for kind in KINDS:
            passed, expected = results[kind][check], EXPECTED[check][kind]
            if all(passed):
                cell = "passes" if expected == PASSES else "STALE"
                if expected != PASSES:
                    problems.append(f"{check} {kind}: declared deviation no longer occurs: {expected.reason}")
            elif expected == PASSES:
                cell = "FAILS"
                problems.append(f"{check} {kind}: undeclared deviation ({what}; {passed.count(False)} of {len(passed)} containers)")
            elif any(passed):
                cell = "MIXED"
                problems.append(f"{check} {kind}: only some containers deviate ({passed})")
            else:
                cell = "deviation"
            cells.append(f"{cell:<14}")
        lines.append(f"{check:<7}" + "".join(cells) + what)
    lines.append("")
    lines += [f"{check} {kind}: {expected.reason}" for check, kinds in EXPECTED.items()
              for kind, expected in kinds.items() if isinstance(expected, Deviation)]
    return "\n".join(lines), problems


def test_every_container_meets_the_cis_checks_or_declares_why_not(lab):
    assert set(EXPECTED) == set(CHECKS) and all(set(kinds) == set(KINDS) for kinds in EXPECTED.values())
    containers = {
        "app": [_inspect(name, "polls") for name in lab.app_servers],
        "nginx": [_inspect(name, "nginx") for name in lab.proxies],
        "oneoff": _oneoff(lab),
        "certbot": _certbot(lab),
    }
    results = {kind: {check: [test(container) for container in found] for check, (_what, test) in CHECKS.items()}
               for kind, found in containers.items()}
    table, problems = _table(results)
    print(table)
    assert problems == [], "\n".join(problems) + "\n\n" + table


def test_the_app_runs_as_its_images_non_root_user(lab):
    for name in lab.app_servers:
        user = _inspect(name, "polls")["Config"]["User"]
        uid = user.split(":", 1)[0].strip()
        assert uid not in ("", "root", "0") and uid.strip("0") != "", (name, user)
        assert user == "app", (name, user)  # examples/polls/Dockerfile: USER app


def test_a_release_that_would_run_as_root_is_refused_before_any_change(lab):
    image = f"{lab.all_vars['lab_registry_address']}:5000/djangoops/polls:{TUTORIAL}"
    state = "docker inspect --format '{{.Id}}' polls && sha256sum /etc/djangoops/polls/env"
    before = {name: server(name).check_output(state) for name in lab.app_servers}
    had_image = {name: server(name).run(f"docker image inspect {image}").rc == 0 for name in lab.app_servers}
    try:
        run = run_playbook("playbooks/deploy.yml", "-e", f"lab_app_version={TUTORIAL}")
        # As the callback prints the message (YAML, folded; quotes doubled or escaped by the style it picks).
        said = " ".join((run.stdout + run.stderr).split()).replace("''", "'").replace('\\"', '"')
        assert run.returncode != 0, said[-3000:]
        for name in lab.app_servers:
            assert f"{name}: the containers of {image} would run as root (the image's USER is not set)" in said, said[-3000:]
        assert "add a USER line to the image's Dockerfile" in said and 'django_app_user: "<uid>:<gid>"' in said
        assert "django_app_allow_root: true" in said
        # Stopped in the release's preparation: no env file written, no step run, no container changed.
        assert "Ensure the env file holds the current settings" not in run.stdout and "Migrate, check the admin user" not in run.stdout
        assert {name: server(name).check_output(state) for name in lab.app_servers} == before
    finally:
        for name, had in had_image.items():
            if not had:
                server(name).run(f"docker image rm {image}")
