"""Shared fixtures for the lab checks: the lab's topology (read from its inventory) and the client."""

from __future__ import annotations

import base64
import functools
import json
import os
import random
import re
import shlex
import ssl
import subprocess
import sys
import time
import typing as t
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update
import pytest
import testinfra
from cryptography import x509

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3]))
LAB_DIR = Path(os.environ.get("DJANGOOPS_LAB_DIR", PROJECT / ".lab"))

# A second pytest process, the second lane (SecondLane), runs beside the main sequence, which changes the lab's
# main site, in this order: the second site started small and grown (own servers, database, bucket, DNS name and
# fleet lock: own_site.py), while the main sequence runs the checks that mostly wait (renewal timers, reboots);
# the checks that compare the main site before and after their runs, as soon as the main sequence only reads it (its
# `readonly` checks), so that it waits for them as little as it can before it changes its site again; then maintenance
# mode, the releases, the management commands, the processes and a release built from git on the grown second site,
# while the main sequence changes its own site.
# The second site asks the CAs for its certificates only while it is started and grown, and renewed once in maintenance
# mode (OWN_SITE_CA_CHECKS); the main sequence's check that counts every request a CA handled, whatever the name
# (marker counts_ca_requests), waits until those are done. Both lanes together use the machine's 2 cores better than
# one. DJANGOOPS_LAB_LANES=1 (or --lab-shuffle) keeps all in one sequence.
OWN_SITE_CHECKS = ("test_start_small.py", "test_maintenance.py", "test_releases.py", "test_manage.py", "test_processes.py",
                   "test_build.py")
OWN_SITE_CA_CHECKS = ("test_start_small.py", "test_maintenance.py")
MAIN_SITE_READERS = ("test_preflight.py",)
LANE_ORDER = ("test_start_small.py", "test_preflight.py", "test_maintenance.py", "test_releases.py", "test_manage.py",
              "test_processes.py", "test_build.py")
LANE = os.environ.get("DJANGOOPS_LAB_LANE", "")  # "" in the main sequence, "second" in the second lane
# Written by the main sequence when it only reads the main site from then on until the second lane's readers are done.
MAIN_READS_ONLY = LAB_DIR / "lane-main-reads-only"
# Written by the second lane once its checks that read the main site are done (or it ended).
LANE_READERS_DONE = LAB_DIR / "lane-readers-done"
# Written by the second lane once its checks that ask the lab's CAs are done (or it ended).
LANE_CA_DONE = LAB_DIR / "lane-ca-done"


@dataclass(frozen=True)
class Lab:
    """What the checks need to know about the lab, from inventories/lab."""

    domain: str
    proxy_public: str
    proxies: dict[str, dict]
    app_servers: dict[str, dict]
    s3_endpoint: str
    state_dir: Path
    all_vars: dict
    # Where playbooks find this site (the lab's main site by default; the second site's own directory).
    inventories: tuple[str, ...] = ("inventories/lab",)
    database: str = "polls"

    def secret(self, name: str) -> str:
        return (self.state_dir / "secrets" / name).read_text().split()[0]

    def private_name(self, host: str) -> str:
        """The name the lab's DNS server gives ``host``'s private address (the roles are given names)."""
        return f"{host}.{self.all_vars['lab_private_zone']}"

    @property
    def proxy_addresses(self) -> list[str]:
        """Each proxy's public address, in inventory order."""
        return [proxy["ansible_host"] for proxy in self.proxies.values()]


@functools.cache
def inventory_list(inventories: tuple[str, ...] = ("inventories/lab",)) -> dict:
    """Inventories as Ansible reads them (ansible-inventory --list)."""
    sources = [arg for inventory in inventories for arg in ("-i", str(PROJECT / inventory))]
    out = subprocess.run(["ansible-inventory", *sources, "--list"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def lab_inventory() -> dict:
    """inventories/lab as Ansible reads it."""
    return inventory_list()


def lab_from(inventories: tuple[str, ...] = ("inventories/lab",), *, domain: str | None = None, database: str = "polls") -> Lab:
    """A site of the lab as its inventory describes it (the main site by default). A second site's inventory
    changes as it grows: read anew each time."""
    inventory = inventory_list(inventories) if inventories == ("inventories/lab",) else inventory_list.__wrapped__(inventories)
    hostvars = inventory["_meta"]["hostvars"]
    proxy = inventory["nginx_proxy"]["hosts"][0]
    all_vars = hostvars[proxy]
    return Lab(
        domain=domain or all_vars["lab_domain"],
        proxy_public=hostvars[proxy]["ansible_host"],
        proxies={name: hostvars[name] for name in inventory["nginx_proxy"]["hosts"]},
        app_servers={name: hostvars[name] for name in inventory["django_app"]["hosts"]},
        s3_endpoint=f"https://{all_vars['lab_s3_public_address']}:{all_vars['lab_s3_port']}",
        state_dir=LAB_DIR,
        all_vars=all_vars,
        inventories=inventories,
        database=database,
    )


def server_hosts(group: str) -> list[str]:
    """testinfra host specs for the servers of an inventory group, read as root inside each server. The
    deploy user's sudo asks for a password, as on the tutorial's servers, which testinfra's SSH backend
    cannot give; every playbook run of the suite goes the SSH and sudo way Ansible does."""
    return [f"docker://djangoops-lab-{name}" for name in lab_inventory()[group]["hosts"]]


def open_ports(scanner, addresses: list[str], ports: str) -> dict[str, list[int]]:
    """The open ports of each address (all IPv4 or all IPv6), as one nmap on the scanning host (a testinfra
    host) finds them, probing the addresses in parallel; every address must be reported.
    Bounded: at most 10,000 ports a host at 2,000 probes/s in all, one retry, two minutes per host."""
    family = " -6" if any(":" in address for address in addresses) else ""  # one family per scan
    scan = scanner.run(f"nmap{family} -Pn -n -T4 --min-rate 2000 --max-retries 1 --host-timeout 120s -p {ports} -oG - {' '.join(addresses)}")
    assert scan.rc == 0, scan.stderr
    found = {address: sorted(int(port) for port in re.findall(r"(\d+)/open/", listed))
             for address, listed in re.findall(r"^Host: (\S+) .*\tPorts: (.*)$", scan.stdout, re.M)}
    assert set(found) == set(addresses), f"nmap reported no ports for {set(addresses) - set(found)}: {scan.stdout}"
    return found


def server(name: str):
    """A lab server's own shell (its container), for what SSH through UFW cannot show."""
    return testinfra.get_host(f"docker://djangoops-lab-{name}")


def drained_in(upstream: str) -> set[str]:
    """Inventory names of the servers marked down in an upstream file (nginx_upstream writes each name
    in a comment after its server line)."""
    return set(re.findall(r"^\s*server\s+\S+[^\n]*\sdown;\s*#\s*(\S+)", upstream, re.M))


def pebble_log(stage: str) -> list[str]:
    """The log of the lab's Pebble CA of this stage (staging, production), each line starting with
    Docker's timestamp (RFC 3339, sortable)."""
    out = subprocess.run(["docker", "logs", "--timestamps", f"djangoops-lab-pebble-{stage}"],
                         check=True, capture_output=True, text=True)
    return sorted((out.stdout + out.stderr).splitlines())


def acme_requests(stage: str) -> list[str]:
    """Every ACME API request Pebble handled (directory, nonce, account, order, ...)."""
    return [line for line in pebble_log(stage) if "-> calling handler()" in line]


# The sites of the checks that run in the second lane (OWN_SITE_CHECKS) on the lab's CAs beside the main
# sequence: what a CA issued for them is left out of the main sequence's counts.
OWN_SITE_NAMES = frozenset({"small.djangoops.test"})  # own_site.SITE


@functools.cache  # a certificate's names never change: asked once per serial, however often a check polls
def _issued_names(stage: str, serial: str) -> frozenset[str]:
    """The DNS names of a certificate a lab Pebble issued, from its management interface."""
    address = lab_inventory()["_meta"]["hostvars"][lab_inventory()["nginx_proxy"]["hosts"][0]][f"lab_pebble_{stage}_address"]
    context = ssl.create_default_context(cafile=str(LAB_DIR / "pki" / "lab-ca.pem"))
    with urllib.request.urlopen(f"https://{address}:15000/cert-status-by-serial/{serial.lower()}", context=context, timeout=10) as answer:
        pem = json.load(answer)["Certificate"].encode()
    certificate = x509.load_pem_x509_certificate(pem)
    return frozenset(certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName))


def issued_serials(stage: str) -> list[str]:
    """Serials of the certificates one of the lab's Pebble CAs issued for the lab's main site, oldest first
    (upper case): the second lane's own-site certificates are left out."""
    serials = [match.group(1).upper() for line in pebble_log(stage)
               if (match := re.search(r"Issued certificate serial ([0-9a-f]+)", line))]
    return [serial for serial in serials if not (names := _issued_names(stage, serial)) or not names <= OWN_SITE_NAMES]


def same_serial(served: str, issued: str) -> bool:
    """Whether a served serial (openssl's spelling) is an issued one (Pebble's, without leading zeros)."""
    return served.lstrip("0") == issued.lstrip("0")


# --- Servers after a fault: booted, containers back, firewall closed ------------------------------

def wait_for(what: str, check, seconds: int = 90):
    """check() until it returns something true, at most `seconds`; that value."""
    deadline = time.monotonic() + seconds
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(1)
    assert value, f"not within {seconds} s: {what}"
    return value


def boot_state(name: str) -> str:
    """systemd's state once the boot finished: `running` when no unit failed (else the failed ones).
    Right after the restart, systemd may not answer yet (no bus): asked again until it does."""
    host = server(name)

    def state_after_boot() -> str:
        return host.run("timeout 120 systemctl is-system-running --wait").stdout.strip()

    state = wait_for(f"systemd answering on {name}", state_after_boot, seconds=120)
    return state if state == "running" else f"{state}: {host.run('systemctl --failed --no-legend').stdout}"


def container_running(name: str, container: str) -> bool:
    out = server(name).run("docker inspect --format '{{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' %s",
                           container)
    return out.rc == 0 and out.stdout.split()[:1] == ["true"] and "starting" not in out.stdout and "unhealthy" not in out.stdout


def docker_user_closed(name: str, port: int) -> str:
    """'' when UFW is active and Docker's FORWARD path passes DOCKER-USER, which drops new connections
    to the published app port; else what is wrong."""
    host = server(name)
    forward = host.run("iptables -w -S FORWARD").stdout.splitlines()
    rules = host.run("iptables -w -S DOCKER-USER").stdout
    problems = []
    if "Status: active" not in host.run("ufw status").stdout:
        problems.append("UFW is not active")
    if "-A FORWARD -j DOCKER-USER" not in forward[:3]:
        problems.append(f"FORWARD does not start with DOCKER-USER: {forward[:3]}")
    if f"--ctorigdstport {port} -j DROP" not in rules:
        problems.append(f"DOCKER-USER does not drop port {port}: {rules}")
    return "; ".join(problems)


def changed_per_host(output: str) -> dict[str, int]:
    """changed= of each host in a run's recap."""
    return {host: int(changed) for host, changed in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}


def psql(sql: str, database: str = "polls") -> str:
    """One query against the app's database (the main site's by default), as the postgres superuser in its container."""
    return server("postgres").check_output("su postgres -c %s", f"psql -d {database} -tAc \"{sql}\"")


def dns_update(lab, build: t.Callable[[dns.update.UpdateMessage], None]) -> None:
    """One RFC 2136 update of the lab's public zone at the DNS server the CAs ask, signed with the lab's own key
    (the site's key may change the ACME challenge record only)."""
    zone = lab.all_vars["lab_public_zone"]
    keyring = dns.tsigkeyring.from_text({lab.all_vars["lab_tsig_admin_name"]: base64.b64encode(lab.secret("tsig_admin").encode()).decode()})
    update = dns.update.UpdateMessage(zone, keyring=keyring, keyalgorithm=lab.all_vars["lab_tsig_algorithm"])
    build(update)
    response = dns.query.tcp(update, lab.all_vars["lab_acme_dns_address"], timeout=10)
    assert response.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(response.rcode())


def unapply_next_release_migration(lab: Lab) -> None:
    """Take back the migration of the lab's next release (lab_app_releases[1]), with that release's
    image on the site's first app server, if a check applied it: the site's database then is as its first
    converge left it."""
    if psql("SELECT count(*) FROM django_migrations WHERE app = 'polls' AND name = '0002_question_pub_date_index'", lab.database) == "0":
        return
    image = f"{lab.all_vars['lab_registry_address']}:5000/djangoops/polls:{lab.all_vars['lab_app_releases'][1]}"
    # The secret files too, where the env file names them (django_app_secret_files), as the role mounts them.
    server(next(iter(lab.app_servers))).check_output(
        f"docker pull -q {image} >/dev/null && docker run --rm --env-file /etc/djangoops/polls/env"
        " $(test -d /etc/djangoops/polls/secrets && echo -v /etc/djangoops/polls/secrets:/run/secrets/polls:ro)"
        f" {image} python manage.py migrate polls 0001")


LAB_MARKERS = {
    "readonly": "reads the lab only: runs in any order, any number of times (`make verify M=readonly`)",
    "changes_lab": "changes the lab and puts it back in its fixtures (finally/yield), so any check can follow it",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--lab-shuffle", type=int, default=None, metavar="SEED",
                     help="run the selected lab checks in a random order from this seed (for the readonly ones)")


def pytest_configure(config: pytest.Config) -> None:
    for name, meaning in LAB_MARKERS.items():
        config.addinivalue_line("markers", "%s: %s" % (name, meaning))
    config.addinivalue_line("markers", "mostly_waits: waits (timers, reboots) more than it works: runs early, beside the second lane")
    config.addinivalue_line("markers", "after_lane: stops a part the second lane shares (the lab's PostgreSQL): runs last, once the"
                                       " second lane is done")
    config.addinivalue_line("markers", "counts_ca_requests: counts every request the lab's CAs handle, whatever the name: runs once"
                                       " the second lane's checks that ask them are done")
    RUNS_LOG.parent.mkdir(parents=True, exist_ok=True)
    RUNS_LOG.write_text("", encoding="utf-8")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every lab check says which kind it is: exactly one of the markers above. With --lab-shuffle,
    the selected checks run in a random order (printed with the seed), to show they need none."""
    unmarked = [item.nodeid for item in items if len({mark.name for mark in item.iter_markers()} & set(LAB_MARKERS)) != 1]
    if unmarked:
        raise pytest.UsageError("lab checks need exactly one of the markers %s: %s" % (sorted(LAB_MARKERS), unmarked))
    seed = config.getoption("--lab-shuffle")
    if seed is not None:
        random.Random(seed).shuffle(items)
        print("lab checks shuffled with seed %d: %s" % (seed, [item.nodeid for item in items]))
    else:
        # The checks of the shared second run go first, so that run is the one right after the
        # converge: it is the scenario's idempotence check (molecule.yml runs no converge of its own
        # for that), with ACME and secret checks on top.
        # Then the checks that mostly wait and the read-only ones, while the second lane (started after the second
        # run) works; the second lane's in LANE_ORDER.
        items.sort(key=lambda item: (LANE_ORDER.index(item.path.name) if LANE and item.path.name in LANE_ORDER else len(LANE_ORDER),
                                     item.get_closest_marker("after_lane") is not None,
                                     "second_run" not in getattr(item, "fixturenames", ()),
                                     item.get_closest_marker("mostly_waits") is None,
                                     item.get_closest_marker("readonly") is None))
    second = [item for item in items if item.path.name in OWN_SITE_CHECKS + MAIN_SITE_READERS]
    if (not LANE and seed is None and second and len(second) < len(items)
            and os.environ.get("DJANGOOPS_LAB_LANES") != "1"):
        items[:] = [item for item in items if item not in second]
        # By path (molecule's pytest has / as its rootdir, so its node IDs are relative to that, not to the cwd).
        checks = [f"{item.path}::{item.nodeid.split('::', 1)[1]}" for item in second]
        config.pluginmanager.register(SecondLane(config, checks), "djangoops-second-lane")
    if LANE:
        config.pluginmanager.register(MainSiteReaders(items), "djangoops-main-site-readers")


class MainSiteReaders:
    """In the second lane: the checks that read the main site start once the main sequence only reads it, and
    the lane says when they are done (LANE_READERS_DONE), so that the main sequence changes its site again; it
    also says when its checks that ask the lab's CAs are done (LANE_CA_DONE)."""

    def __init__(self, items: list[pytest.Item]) -> None:
        self.last_reader = next((item.nodeid for item in reversed(items) if item.path.name in MAIN_SITE_READERS), None)
        self.last_ca_asker = next((item.nodeid for item in reversed(items) if item.path.name in OWN_SITE_CA_CHECKS), None)
        if self.last_reader is None:
            LANE_READERS_DONE.touch()
        if self.last_ca_asker is None:
            LANE_CA_DONE.touch()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if item.path.name in MAIN_SITE_READERS:
            deadline = time.monotonic() + 3600
            while not MAIN_READS_ONLY.exists():
                assert time.monotonic() < deadline, "the main sequence never reached its read-only checks"
                time.sleep(2)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        if nodeid == self.last_reader:
            LANE_READERS_DONE.touch()
        if nodeid == self.last_ca_asker:
            LANE_CA_DONE.touch()

    def pytest_sessionfinish(self) -> None:
        LANE_READERS_DONE.touch()
        LANE_CA_DONE.touch()


class SecondLane:
    """The second lane's checks in a pytest process of their own (DJANGOOPS_LAB_LANE=second), started once the main
    sequence's second run is checked (that run counts every ACME request the lab's CAs handle). The main sequence
    says when it only reads the main site (MAIN_READS_ONLY) and waits for the lane's checks that read it before it
    changes that site again; at its end it waits for the lane. The lane's output is shown in the summary and its
    failure fails the session."""

    def __init__(self, config: pytest.Config, nodeids: list[str]) -> None:
        self.config, self.nodeids = config, nodeids
        self.process: subprocess.Popen | None = None
        self.log = LAB_DIR / "lane-second.log"
        self.returncode: int | None = None
        self.readers_done = False

    def start(self) -> None:
        MAIN_READS_ONLY.unlink(missing_ok=True)
        LANE_READERS_DONE.unlink(missing_ok=True)
        LANE_CA_DONE.unlink(missing_ok=True)
        selection = {str(arg) for arg in self.config.args}
        passed_on = [arg for arg in self.config.invocation_params.args if arg not in selection]
        command = [sys.executable, "-m", "pytest", *passed_on, "--basetemp", str(LAB_DIR / "lane-second-tmp"), *self.nodeids]
        output = self.log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(command, cwd=self.config.invocation_params.dir, stdout=output, stderr=subprocess.STDOUT,
                                        env=dict(os.environ, DJANGOOPS_LAB_LANE="second"))  # stopped with the main one
        output.close()
        print(f"\n[second lane] started: {' '.join(self.nodeids)} (output: {self.log})")

    def wait_for_readers(self) -> None:
        """Let the lane read the main site, and wait until its checks that do are done."""
        MAIN_READS_ONLY.touch()
        deadline = time.monotonic() + 1800
        while not (self.readers_done or LANE_READERS_DONE.exists() or self.process.poll() is not None):
            if time.monotonic() > deadline:
                self.process.kill()
                break
            time.sleep(1)
        if not self.readers_done:
            self.readers_done = True
            print("\n[second lane] done with the main site")

    def wait_for_ca_askers(self) -> None:
        """Wait until the lane's checks that ask the lab's CAs are done."""
        deadline = time.monotonic() + 1800
        while not (LANE_CA_DONE.exists() or self.process.poll() is not None):
            if time.monotonic() > deadline:
                self.process.kill()
                break
            time.sleep(1)

    def finish(self) -> None:
        """Let the lane read the main site, and wait until it is done."""
        MAIN_READS_ONLY.touch()
        if self.returncode is None:
            try:
                self.returncode = self.process.wait(timeout=3600)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.returncode = self.process.wait()
            print(f"\n[second lane] done, exit code {self.returncode}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if "second_run" in getattr(item, "fixturenames", ()):
            return
        if self.process is None:
            self.start()
        if item.get_closest_marker("mostly_waits") is not None:
            return
        if item.get_closest_marker("after_lane") is not None:
            self.finish()
        elif item.get_closest_marker("readonly") is not None:
            MAIN_READS_ONLY.touch()
        else:
            self.wait_for_readers()
        if item.get_closest_marker("counts_ca_requests") is not None:
            self.wait_for_ca_askers()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.process is None:
            if session.shouldfail or session.shouldstop or session.config.option.collectonly:
                return
            self.start()
        self.finish()
        if self.returncode != 0 and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.returncode is None:
            return
        terminalreporter.section(f"second lane: exit code {self.returncode}")
        terminalreporter.write(self.log.read_text(encoding="utf-8", errors="replace"))


@pytest.fixture(scope="session")
def lab() -> Lab:
    """The lab's main site (inventories/lab)."""
    return lab_from()


@pytest.fixture(scope="session")
def small_site(lab, tmp_path_factory):
    """The second site (own_site.py): its database, bucket and name for the session, its servers created by the
    checks that use it; all removed at the end, whatever happens."""
    from own_site import SmallSite  # own_site imports this module

    site = SmallSite(lab, tmp_path_factory.mktemp("small-site"))
    site.create()
    try:
        yield site
    finally:
        site.remove()


@pytest.fixture(scope="module")
def site(small_site) -> Lab:
    """The grown second site, for the checks that run on it (own_site.py names them): converged here
    when no check left it so."""
    return small_site.grown_site()


class Client:
    """The lab's outside client on the public network; commands run in its container."""

    def __init__(self, lab: Lab) -> None:
        self.host = testinfra.get_host("docker://djangoops-lab-client")
        self.lab = lab
        self.poll_errors: list[str] = []
        # The client's files of this pytest process: the second lane's beside the main sequence's.
        self.files = f"/tmp/djangoops-{LANE}-" if LANE else "/tmp/djangoops-"

    def run(self, command: str):
        return self.host.run(command)

    def curl(self, url: str, *args: str, ca: str = "pebble-production-root.pem"):
        """curl the site as a browser would: the domain resolves to the proxy's public address."""
        resolve = [arg for port in (80, 443) for arg in ("--resolve", f"{self.lab.domain}:{port}:{self.lab.proxy_public}")]
        command = ["curl", "-sS", "--max-time", "10", "--cacert", f"/lab/pki/{ca}", *resolve, *args, url]
        return self.host.run(shlex.join(command))

    def start_polling(self, proxies: list[str] | None = None, *, name: str | None = None,
                      ca: str = "pebble-production-root.pem", max_seconds: int = 180) -> None:
        """Request the site from the proxies in turn, one after another, each on a new connection,
        until stop_polling (at most max_seconds), trusting only the root ``ca`` (curl also refuses an
        expired certificate). Each line of the log: status, X-Served-By, proxy;
        curl's own errors (a timeout, a reset) go to <name>.err, read by stop_polling into poll_errors.
        10 s per request: the lab's hosts share 2 cores with the playbook that runs meanwhile (a reset or
        refused connection fails at once, whatever the limit)."""
        name = name or f"{self.files}poll"
        self._poll = name
        addresses = " ".join(proxies or [self.lab.proxy_public])
        script = (
            f"rm -f {name}.*; end=$(( $(date +%s) + {max_seconds} )); "
            f"while [ ! -e {name}.stop ] && [ $(date +%s) -lt $end ]; do for proxy in {addresses}; do "
            f"curl -sS -o /dev/null -w '%{{http_code}} ' --max-time 10 --cacert /lab/pki/{ca}"
            f" --resolve {self.lab.domain}:443:$proxy -D - https://{self.lab.domain}/polls/ 2>>{name}.err"
            f" | tr -d '\\r' | awk -v proxy=$proxy '/^[Xx]-[Ss]erved-[Bb]y:/ {{s=$2}} /^[0-9][0-9][0-9] $/ {{c=$1}}"
            f" END {{print c, s, proxy}}' >> {name}.log 2>&1 || echo \"curl-failed - $proxy\" >> {name}.log; done; done;"
            f" touch {name}.done"
        )
        self.host.run("nohup sh -c %s >/dev/null 2>&1 &", script)

    def stop_polling(self) -> list[tuple[str, ...]]:
        """Stop the loop; its requests as (status, served by, proxy), in order."""
        self.run(f"touch {self._poll}.stop")
        for _attempt in range(30):
            if self.run(f"test -e {self._poll}.done").rc == 0:
                break
            time.sleep(1)
        lines = self.run(f"cat {self._poll}.log").stdout.splitlines()
        self.poll_errors = self.run(f"cat {self._poll}.err 2>/dev/null").stdout.splitlines()
        return [tuple(line.split()) for line in lines if line.strip()]

    def start_load(self, proxies: list[str], *, workers: int = 16, interval: float = 0.0, max_seconds: int = 300,
                   site: str | None = None, fallback: bool = False, connect_timeout: float = 10, timeout: float = 10) -> None:
        """Start tests/lab/files/load.py on the client: keep-alive HTTPS requests to the proxies for the lab's
        site (or the name ``site``), counted until stop_load (bounded: max_seconds, 200,000 requests). Back to back by default (as
        much load as the lab takes); with an interval, each worker starts at most one request per
        interval, which leaves the lab's 2 cores to the playbook under watch (start_steady_load). With fallback, a
        worker that cannot connect to its proxy tries the next (a browser's way with a name's addresses)."""
        subprocess.run(["docker", "cp", str(PROJECT / "tests" / "lab" / "files" / "load.py"),
                        f"djangoops-lab-client:{self.files}load.py"], check=True)
        self.run(f"rm -f {self.files}load.stop {self.files}load.json")
        command = (
            f"python3 {self.files}load.py --proxies {','.join(proxies)} --name {site or self.lab.domain}"
            f" --ca /lab/pki/pebble-production-root.pem --path /polls/ --workers {workers}"
            f" --interval {interval} --max-seconds {max_seconds} --stop {self.files}load.stop --out {self.files}load.json"
            f" --connect-timeout {connect_timeout} --timeout {timeout}{' --fallback' if fallback else ''}"
        )
        self.host.run(f"nohup sh -c %s >{self.files}load.log 2>&1 &", command)

    def start_steady_load(self, proxies: list[str], **options) -> None:
        """Load that watches a playbook rather than tests the lab's capacity: 8 keep-alive workers over the
        proxies, each starting at most 2 requests a second (16 a second in all), so a window of failing
        requests longer than a fraction of a second is caught while the playbook keeps the lab's cores
        (back-to-back load starves it: each request costs the lab about 23 ms of CPU)."""
        self.start_load(proxies, workers=8, interval=0.5, **options)

    def stop_load(self) -> dict:
        """Stop the load; its summary: counts (requests, failed, retried, fell back, status, served by, version), latency
        (p50, p90, p99, max seconds), slow (start, seconds, served by or failure, proxy), failure_times (when each
        failed request ended)."""
        self.run(f"touch {self.files}load.stop")
        for _attempt in range(60):
            if self.run(f"test -e {self.files}load.json").rc == 0:
                break
            time.sleep(1)
        out = self.run(f"cat {self.files}load.json")
        assert out.rc == 0, self.run(f"cat {self.files}load.log").stdout
        return json.loads(out.stdout)

    def start_probe(self, targets: list[str], *, max_seconds: int = 900) -> None:
        """Start tests/lab/files/probe.py on the client: a TCP connection to every address:port every
        100 ms, each accepted one recorded, until stop_probe (bounded: max_seconds)."""
        subprocess.run(["docker", "cp", str(PROJECT / "tests" / "lab" / "files" / "probe.py"),
                        f"djangoops-lab-client:{self.files}probe.py"], check=True)
        self.run(f"rm -f {self.files}probe.stop {self.files}probe.json")
        command = (f"python3 {self.files}probe.py --targets {','.join(targets)} --max-seconds {max_seconds}"
                   f" --stop {self.files}probe.stop --out {self.files}probe.json")
        self.host.run(f"nohup sh -c %s >{self.files}probe.log 2>&1 &", command)

    def stop_probe(self) -> dict:
        """Stop the probe; its record: rounds, per target the answered/refused/silent counts, answers."""
        self.run(f"touch {self.files}probe.stop")
        for _attempt in range(30):
            out = self.run(f"cat {self.files}probe.json")
            if out.rc == 0 and json.loads(out.stdout)["done"]:
                return json.loads(out.stdout)
            time.sleep(1)
        raise AssertionError("the probe did not finish: " + self.run(f"cat {self.files}probe.log").stdout)

    def start_webhook(self, *, port: int | None = None, max_seconds: int = 900) -> str:
        """Start tests/lab/files/webhook.py on the client (bounded: max_seconds); its URL for the proxies.
        Each lane listens on a port of its own (8099 in the main sequence, 8100 in the second lane)."""
        port = port or (8100 if LANE else 8099)
        subprocess.run(["docker", "cp", str(PROJECT / "tests" / "lab" / "files" / "webhook.py"),
                        f"djangoops-lab-client:{self.files}webhook.py"], check=True)
        self.run(f"pkill -f {self.files}webhook.py; rm -f {self.files}webhook.jsonl")
        self.host.run(f"nohup python3 {self.files}webhook.py --port %s --out {self.files}webhook.jsonl"
                      f" --max-seconds %s >{self.files}webhook.log 2>&1 &", str(port), str(max_seconds))
        for _attempt in range(20):
            if self.run(f"curl -s -o /dev/null -X POST -d '{{}}' http://127.0.0.1:{port}/ready").rc == 0:
                break
            time.sleep(0.5)
        self.run(f"rm -f {self.files}webhook.jsonl")
        return f"http://{self.lab.all_vars['lab_client_address']}:{port}/djangoops-alerts"

    def webhook_posts(self) -> list[dict]:
        """What the webhook received, oldest first: {"from", "path", "body"}."""
        out = self.run(f"cat {self.files}webhook.jsonl 2>/dev/null").stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def clear_webhook(self) -> None:
        self.run(f"rm -f {self.files}webhook.jsonl")

    def stop_webhook(self) -> None:
        self.run(f"pkill -f {self.files}webhook.py")

    def served_by(self, count: int, proxy: str | None = None) -> list[str]:
        """The X-Served-By of count requests for the site through one proxy (the first by default)."""
        loop = (
            f"for i in $(seq 1 {count}); do curl -sS -o /dev/null -D - --max-time 10"
            f" --cacert /lab/pki/pebble-production-root.pem"
            f" --resolve {self.lab.domain}:443:{proxy or self.lab.proxy_public} https://{self.lab.domain}/polls/; done"
        )
        return re.findall(r"(?im)^x-served-by:\s*(\S+)", self.run(loop).stdout)

    def served_serial(self, proxy: str) -> str:
        """Serial of the certificate a proxy presents for the site's name."""
        out = self.run(
            f"echo | openssl s_client -connect {proxy}:443 -servername {self.lab.domain} 2>/dev/null"
            " | openssl x509 -noout -serial"
        ).stdout
        match = re.search(r"serial=(\w+)", out)
        assert match, f"{proxy} presented no certificate: {out!r}"
        return match.group(1)


@pytest.fixture(scope="session")
def client(lab: Lab) -> Client:
    return Client(lab)


@pytest.fixture(scope="module")
def site_client(site) -> Client:
    """The lab's outside client, for the grown second site."""
    return Client(site)


# tests/lab/python/sitecustomize.py: the garbage collector frozen in Ansible's forked workers, and the templates
# they compile shared on disk by every run of both lanes (less CPU per run: a third less for a site.yml run).
_CONTROLLER_PYTHONPATH = os.pathsep.join(filter(None, [str(PROJECT / "tests" / "lab" / "python"), os.environ.get("PYTHONPATH")]))
_TEMPLATE_CACHE = LAB_DIR / "template-cache"


def _playbook_command(playbook: str, args: tuple[str, ...], inventories: tuple[str, ...]) -> tuple[list[str], dict]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               PYTHONPATH=_CONTROLLER_PYTHONPATH, DJANGOOPS_LAB_TEMPLATE_CACHE=str(_TEMPLATE_CACHE))
    command = ["ansible-playbook", *(arg for inventory in inventories for arg in ("-i", str(PROJECT / inventory)))]
    return [*command, str(PROJECT / playbook), *args], env


# Each playbook run of the checks: (check, playbook and arguments, seconds, exit code), summed up at the
# end of the session (pytest_terminal_summary): where the suite's time goes, run by run. Every run is also
# appended to RUNS_LOG as it ends (beside the lab images' build logs), so a suite under way can be watched.
PLAYBOOK_RUNS: list[tuple[str, str, float, int]] = []
RUNS_LOG = Path(os.environ.get("LAB_LOG_DIR", "/tmp/djangoops-lab-logs")) / (f"playbook-runs-{LANE}.tsv" if LANE else "playbook-runs.tsv")


# And each check's phases as they end (wall clock, seconds, outcome): when each lane ran what, and what waited.
CHECKS_LOG = RUNS_LOG.with_name(f"checks-{LANE}.tsv" if LANE else "checks.tsv")


# Every deprecation warning a playbook run of the checks printed (check, playbook, the warning's text): the suite
# fails at its end when there is one (issue 24: fixed, not hidden), whichever check's run printed it.
DEPRECATIONS: list[tuple[str, str, str]] = []
# A warning runs on to a blank line or the next bracketed one (2.21 writes "Alternatives: ..." unindented).
_DEPRECATION = re.compile(r"^\[DEPRECATION WARNING\]: .*?(?=\n\s*\n|\n\[|\Z)", re.MULTILINE | re.DOTALL)


def _record_run(command: list[str], started: float, returncode: int, output: str = "") -> None:
    check = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0].rsplit("/", 1)[-1]
    playbook = " ".join(arg.removeprefix(f"{PROJECT}/") for arg in command[1:] if not arg.startswith(str(PROJECT / "inventories")))
    PLAYBOOK_RUNS.append((check, playbook.replace("-i ", ""), time.monotonic() - started, returncode))
    with RUNS_LOG.open("a", encoding="utf-8") as runs_log:
        fields = (PLAYBOOK_RUNS[-1][2], returncode, check, PLAYBOOK_RUNS[-1][1], time.strftime("%H:%M:%S"))
        runs_log.write("%.1f\t%d\t%s\t%s\t%s\n" % fields)
    DEPRECATIONS.extend((check, PLAYBOOK_RUNS[-1][1], " ".join(found.split())) for found in _DEPRECATION.findall(output))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if DEPRECATIONS and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.duration >= 1:
        with CHECKS_LOG.open("a", encoding="utf-8") as checks_log:
            fields = (time.strftime("%H:%M:%S"), report.duration, report.when, report.outcome, report.nodeid.rsplit("/", 1)[-1])
            checks_log.write("%s\t%.1f\t%s\t%s\t%s\n" % fields)


# A controller that resolves names with the lab's DNS server alone: the run sees its own /etc/resolv.conf
# (a private mount namespace), so no lookup of the run leaves the lab and this machine's resolver is untouched.
_WITH_RESOLV_CONF = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                     'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"', "with-resolv-conf"]


def run_playbook(playbook: str, *args: str, inventories: tuple[str, ...] = ("inventories/lab",),
                 resolv_conf: Path | None = None) -> subprocess.CompletedProcess:
    """Run a playbook of this project with its own ansible.cfg, as `make` does; output uncoloured.
    With ``resolv_conf``, the controller resolves names through that file's DNS servers only."""
    command, env = _playbook_command(playbook, args, inventories)
    wrapped = command if resolv_conf is None else [*_WITH_RESOLV_CONF, str(resolv_conf), *command]
    started = time.monotonic()
    run = subprocess.run(wrapped, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600, check=False)
    _record_run(command, started, run.returncode, run.stdout + run.stderr)
    return run


def remove_lab_servers(names: list[str]) -> None:
    """Remove lab servers and their Docker engines' state (a volume of the lab's each), if there."""
    for name in names:
        subprocess.run(["docker", "rm", "-f", f"djangoops-lab-{name}"], check=False, capture_output=True)
        subprocess.run(["docker", "volume", "rm", "-f", f"djangoops-lab-{name}-docker"], check=False, capture_output=True)


def fresh_lab_servers(names: list[str], inventories: tuple[str, ...]) -> None:
    """Lab servers created anew, plain Docker hosts as a cloud gives them: only the servers' own tasks of the
    lab's creation (the rest of the lab is up already), from an inventory that names them."""
    remove_lab_servers(names)
    created = run_playbook("tests/lab/up.yml", "--tags", "lab_servers", "-e", json.dumps({"lab_servers": names}),
                           inventories=inventories)
    assert created.returncode == 0, created.stdout + created.stderr


# Putting the lab back after a check, when no check watches the site: every app server in one batch,
# replaced in place rather than drained in turn (one rollout step instead of one per server).
RESTORE_ARGS = ("-e", "django_app_rolling_batch=100%", "-e", "django_app_standby_port=0")


def restore_release(*args: str, inventories: tuple[str, ...] = ("inventories/lab",)) -> None:
    """Deploy the inventory's release (or the one `args` name) back onto every app server."""
    restored = run_playbook("playbooks/deploy.yml", *RESTORE_ARGS, *args, inventories=inventories)
    assert restored.returncode == 0, restored.stdout + restored.stderr


def pytest_terminal_summary(terminalreporter) -> None:
    if not PLAYBOOK_RUNS:
        return
    total = sum(seconds for _check, _playbook, seconds, _rc in PLAYBOOK_RUNS)
    terminalreporter.section(f"{len(PLAYBOOK_RUNS)} playbook runs, {total:.0f} s in all; the slowest")
    for check, playbook, seconds, returncode in sorted(PLAYBOOK_RUNS, key=lambda run: -run[2])[:30]:
        terminalreporter.write_line(f"{seconds:6.1f} s  rc={returncode:<3} {check}  {playbook[:140]}")
    terminalreporter.write_line(f"every run, in order: {RUNS_LOG}")
    if DEPRECATIONS:
        terminalreporter.section(f"{len(DEPRECATIONS)} deprecation warnings in the checks' playbook runs: the suite fails", red=True)
        for check, playbook, warning in DEPRECATIONS:
            terminalreporter.write_line(f"{check}  {playbook[:100]}\n    {warning[:600]}")


class StartedPlaybook:
    """A playbook run in the background (its own process group), its output in a file."""

    def __init__(self, playbook: str, *args: str, inventories: tuple[str, ...] = ("inventories/lab",)) -> None:
        command, env = _playbook_command(playbook, args, inventories)
        self._output = open(LAB_DIR / ("run-%d.log" % time.monotonic_ns()), "w+", encoding="utf-8")
        self._command, self._started = command, time.monotonic()
        self.process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=self._output, stderr=subprocess.STDOUT,
                                        text=True, start_new_session=True)

    def wait(self, timeout: int = 600) -> subprocess.CompletedProcess:
        returncode = self.process.wait(timeout=timeout)
        self._output.seek(0)
        output = self._output.read()
        _record_run(self._command, self._started, returncode, output)
        self._output.close()
        os.unlink(self._output.name)
        return subprocess.CompletedProcess(self.process.args, returncode, output, "")

    def kill(self) -> subprocess.CompletedProcess:
        """SIGKILL to the whole run (ansible-playbook and its workers), as a crash or `kill -9` would."""
        os.killpg(self.process.pid, 9)
        return self.wait(timeout=60)

    def printed(self) -> str:
        """What the run has printed so far."""
        with open(self._output.name, encoding="utf-8") as output:
            return output.read()

    def wait_until(self, *texts: str, timeout: int = 600) -> None:
        """Wait until the run has printed each text, in this order (a task banner after its play's, say);
        fail if it ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            printed, position = self.printed(), 0
            for text in texts:
                position = printed.find(text, position)
                if position < 0:
                    break
            else:
                return
            if self.process.poll() is not None:
                pytest.fail(f"the run ended before it printed {texts!r}:\n{self.printed()[-5000:]}")
            time.sleep(0.2)
        pytest.fail(f"the run did not print {texts!r} within {timeout} s:\n{self.printed()[-5000:]}")

    def kill_when(self, *texts: str) -> subprocess.CompletedProcess:
        """Kill the run as soon as it has printed these texts in order (and when waiting fails)."""
        try:
            self.wait_until(*texts)
        except BaseException:
            self.kill()
            raise
        return self.kill()


@dataclass(frozen=True)
class SecondRun:
    """A site.yml at -vvvv on the converged lab: what it printed, and the ACME requests each of the lab's
    Pebble CAs had handled before and after it."""

    returncode: int
    output: str
    changed: dict[str, int]
    acme_before: dict[str, list[str]]
    acme_after: dict[str, list[str]]


@pytest.fixture(scope="session")
def second_run(lab) -> SecondRun:
    """One run for the checks that ask what running site.yml again does (nothing changes on any host,
    no CA is asked, no secret is printed): each would otherwise run it alone. Its checks run first
    (pytest_collection_modifyitems), so it is the run right after the converge: the idempotence check."""
    stages = ("staging", "production")
    before = {stage: acme_requests(stage) for stage in stages}
    run = run_playbook("playbooks/site.yml", "-vvvv")
    after = {stage: acme_requests(stage) for stage in stages}
    return SecondRun(run.returncode, run.stdout + run.stderr, changed_per_host(run.stdout), before, after)


@pytest.fixture(scope="session")
def host_files():
    """Read a file on the first proxy as root (as the checks on servers do)."""
    proxy = testinfra.get_host(server_hosts("nginx_proxy")[0])

    def read(path: str) -> str:
        return proxy.file(path).content_string

    return read
