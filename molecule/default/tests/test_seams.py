"""Where the roles meet, tried by changing one fact in the inventory.

One source of truth: changing only site_app_port converges a site on the new port, the old one gone,
the new one reachable from the proxies only (nmap from the public client and from a private neighbour).

Roles meet at published entry points: with nginx_proxy's configuration directory and container
renamed on the proxies, a rolling deploy still drains each app server from every proxy first, because
the drain reads where each proxy's Nginx lives from what nginx_proxy published there, not from the
deploying play's variables. The deploy runs with the lab inventory alone, which still names the old
directory and container: the old code's guess would have drained a file Nginx no longer reads.

The checks share their site.yml runs (SeamsLab); the lab is put back after them, whatever happens."""

from __future__ import annotations

import bisect
import time

import pytest
import testinfra

from conftest import RESTORE_ARGS, drained_in, open_ports, run_playbook, server, unapply_next_release_migration


pytestmark = pytest.mark.changes_lab

MOVED_DIR = "/etc/djangoops/nginx-moved"
MOVED_CONTAINER = "edge-nginx"
DEFAULT_DIR = "/etc/djangoops/nginx"
DEFAULT_PORT, NEW_PORT = 8000, 8081
NEXT = "1.1.0"
MOVED_INVENTORY = f"""\
nginx_proxy:
  vars:
    nginx_proxy_config_dir: {MOVED_DIR}
    nginx_proxy_container_name: {MOVED_CONTAINER}
"""


def _status(host, address: str, port: int, lab) -> str:
    return host.run(f"curl -sS -o /dev/null -w '%{{http_code}}' --max-time 4 -H 'Host: {lab.domain}' http://{address}:{port}/polls/").stdout


class SeamsLab:
    """The lab in the state a check needs: the app port, and nginx_proxy's directory and container moved
    or not. One site.yml per change of state, so checks in any order share the runs (moving the port
    back and Nginx away is one run). Leaving the moved state also undoes the migration its rolling
    deploy applied and removes the moved directories."""

    def __init__(self, lab, folder) -> None:
        self.lab, self.folder = lab, folder
        self.state: tuple[int, bool] | None = (DEFAULT_PORT, False)
        self.was_moved = False

    def converge(self, port: int = DEFAULT_PORT, moved: bool = False, extra_args: tuple[str, ...] = ()) -> None:
        if self.state == (port, moved):
            return
        text = (f"all:\n  vars:\n    site_app_port: {port}\n" if port != DEFAULT_PORT else "") + (MOVED_INVENTORY if moved else "")
        inventory = self.folder / f"port-{port}-moved-{moved}.yml"
        inventory.write_text(text)
        self.state = None  # unknown until the run succeeds
        self.was_moved |= moved
        run = run_playbook("playbooks/site.yml", *extra_args, inventories=("inventories/lab",) + ((str(inventory),) if text else ()))
        assert run.returncode == 0, run.stdout + run.stderr
        if self.was_moved and not moved:
            # The site.yml above put back the inventory's release and the default directory and container
            # (the role replaces the container it published under the other name).
            unapply_next_release_migration(self.lab)
            for proxy in self.lab.proxies:
                server(proxy).check_output(f"rm -rf {MOVED_DIR} {MOVED_DIR}.candidate")
            self.was_moved = False
        self.state = (port, moved)


@pytest.fixture(scope="module")
def seams_lab(lab, tmp_path_factory):
    """Afterwards the lab is as its inventory says, whatever happened."""
    state = SeamsLab(lab, tmp_path_factory.mktemp("seams"))
    try:
        yield state
    finally:
        state.converge(extra_args=RESTORE_ARGS)


def test_changing_only_the_app_port_moves_the_whole_site(seams_lab, client, lab):
    seams_lab.converge(port=NEW_PORT)
    assert client.curl(f"https://{lab.domain}/polls/", "-o", "/dev/null", "-w", "%{http_code}").stdout == "200"
    for proxy in lab.proxies:
        upstream = server(proxy).file(f"{DEFAULT_DIR}/conf.d/upstream.conf").content_string
        assert upstream.count(f":{NEW_PORT} ") == len(lab.app_servers) and f":{DEFAULT_PORT} " not in upstream, upstream
    neighbour = testinfra.get_host("docker://djangoops-lab-neighbour")
    ports = f"22,{DEFAULT_PORT},{NEW_PORT}"
    public = open_ports(client.host, [app["ansible_host"] for app in lab.app_servers.values()], ports)
    private = open_ports(neighbour, [app["private_address"] for app in lab.app_servers.values()], ports)
    for name, app in lab.app_servers.items():
        assert public[app["ansible_host"]] == [22], f"{name}: public"
        assert private[app["private_address"]] == [22], f"{name}: private neighbour"
        for proxy in lab.proxies:
            assert _status(server(proxy), app["private_address"], NEW_PORT, lab) == "200", (name, proxy)
            assert _status(server(proxy), app["private_address"], DEFAULT_PORT, lab) != "200", (name, proxy)


class Timeline:
    """Samples, until stopped: each proxy's drained servers (from the moved upstream file, every 0.1 s)
    and each app server's app container (ID, or None while there is none running, every 0.25 s), each
    taken by a loop inside the server's own container, so that sampling costs the lab's 2 cores little
    while the deploy runs. samples: per app server sample, in time order, every proxy's drained servers
    as last sampled before it and the app containers as last sampled."""

    LOG = "/tmp/djangoops-timeline"
    PROXY_LOOP = f"cat {MOVED_DIR}/conf.d/upstream.conf 2>/dev/null | grep ' down;'; sleep 0.1"
    APP_LOOP = "docker inspect -f '{{.State.Running}} {{.Id}}' polls 2>/dev/null; sleep 0.25"

    def __init__(self, proxies: list[str], apps: list[str]) -> None:
        self.hosts = {name: server(name) for name in proxies + apps}
        self.proxies, self.apps = proxies, apps
        self.samples: list[tuple[dict[str, set[str]], dict[str, str | None]]] = []

    def _loop(self, body: str) -> str:
        # Each sample: a line "@ <epoch seconds>", then what the body printed. Bounded: 300 s.
        return (f"rm -f {self.LOG}*; end=$(( $(date +%s) + 300 )); "
                f"while [ ! -e {self.LOG}.stop ] && [ $(date +%s) -lt $end ]; do echo \"@ $(date +%s.%N)\"; {body}; done"
                f" > {self.LOG}.log 2>&1; touch {self.LOG}.done")

    def _read(self, name: str) -> list[tuple[float, str]]:
        host = self.hosts[name]
        host.run(f"touch {self.LOG}.stop")
        for _attempt in range(20):
            if host.run(f"test -e {self.LOG}.done").rc == 0:
                break
            time.sleep(0.5)
        samples: list[tuple[float, str]] = []
        for line in host.check_output(f"cat {self.LOG}.log").splitlines():
            if line.startswith("@ "):
                samples.append((float(line[2:]), ""))
            elif samples:
                samples[-1] = (samples[-1][0], samples[-1][1] + line + "\n")
        return samples[:-1]  # the last one may have been cut short by the stop

    def __enter__(self) -> "Timeline":
        for name in self.proxies:
            self.hosts[name].check_output("nohup sh -c %s >/dev/null 2>&1 &", self._loop(self.PROXY_LOOP))
        for name in self.apps:
            self.hosts[name].check_output("nohup sh -c %s >/dev/null 2>&1 &", self._loop(self.APP_LOOP))
        return self

    def __exit__(self, *_exc: object) -> None:
        proxy_samples = {name: [(at, drained_in(text)) for at, text in self._read(name)] for name in self.proxies}
        app_samples = {}
        for name in self.apps:
            app_samples[name] = []
            for at, text in self._read(name):
                state = text.split()
                app_samples[name].append((at, state[1] if state[:1] == ["true"] else None))
        # One sample per app server sample: the state of everything as last seen at that moment.
        for at in sorted(at for samples in app_samples.values() for at, _state in samples):
            down = {name: _last_seen(samples, at, set()) for name, samples in proxy_samples.items()}
            containers = {name: _last_seen(samples, at, "not sampled yet") for name, samples in app_samples.items()}
            self.samples.append((down, containers))


def _last_seen(samples: list[tuple[float, object]], at: float, default: object) -> object:
    """The value of the last of these time-ordered samples taken at or before `at`."""
    index = bisect.bisect_right([seen for seen, _value in samples], at)
    return samples[index - 1][1] if index else default


def test_a_rolling_deploy_drains_through_a_moved_nginx(seams_lab, client, lab):
    seams_lab.converge(moved=True)
    for proxy in lab.proxies:
        names = server(proxy).check_output("docker ps --format '{{.Names}}'").split()
        assert MOVED_CONTAINER in names and "nginx" not in names, names
    stale = {proxy: server(proxy).file(f"{DEFAULT_DIR}/conf.d/upstream.conf").content_string for proxy in lab.proxies}
    before = {name: server(name).check_output("docker inspect -f '{{.Id}}' polls") for name in lab.app_servers}

    client.start_steady_load(lab.proxy_addresses)
    with Timeline(list(lab.proxies), list(lab.app_servers)) as timeline:
        # The lab inventory alone: the deploying play still believes in the old directory and container.
        run = run_playbook("playbooks/deploy.yml", "-e", f"lab_app_version={NEXT}", "-e", "django_app_drain_seconds=3")
    load = client.stop_load()
    assert run.returncode == 0, run.stdout + run.stderr
    counts = load["counts"]
    print(f"deploy through {MOVED_CONTAINER} at {MOVED_DIR}: {len(timeline.samples)} samples, {counts}")
    assert counts.get("failed", 0) == 0, load["failures"]
    assert counts["requests"] > 0, counts

    for name in lab.app_servers:
        after = server(name).check_output("docker inspect -f '{{.Id}}' polls")
        assert after != before[name], f"{name} was not replaced"
        # While its container was gone, and when its new container first showed, every proxy had it down.
        replacing = [down for down, containers in timeline.samples if containers[name] in (None, after)]
        assert replacing, f"no sample caught {name} being replaced ({len(timeline.samples)} samples)"
        first_new = next(down for down, containers in timeline.samples if containers[name] in (None, after))
        assert all(name in drained for drained in first_new.values()), (name, first_new)
        gone = [down for down, containers in timeline.samples if containers[name] is None]
        assert all(name in drained for down in gone for drained in down.values()), (name, gone)
    # Every server back in every moved upstream; the stale file in the old directory never touched.
    for proxy in lab.proxies:
        assert drained_in(server(proxy).file(f"{MOVED_DIR}/conf.d/upstream.conf").content_string) == set()
        assert server(proxy).file(f"{DEFAULT_DIR}/conf.d/upstream.conf").content_string == stale[proxy]
