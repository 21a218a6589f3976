# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The renewal job of one proxy (djangoops.fleet certbot): every proxy runs it from its own timer.

Each run, under a lock:
1. takes the newest valid certificate its peers hold (over SSH, as a user whose key can only read the
   peers' exported lineage), so a certificate renewed anywhere reaches every proxy;
2. renews when the certificate is due for this proxy: the first proxy at the CA's ARI time (or by the
   lifetime), each standby later in turn, so one order per renewal while the first proxy is up and
   still one when it is down;
3. when the certificate changed: nginx -t, reload, checks that Nginx serves it, exports it for the peers;
4. writes its outcome and the certificates' expiry for node-exporter, and posts a failure to the webhook.

Host python3 with cryptography (the certbot_certificate module needs it too); renewal.py sits beside
this file. Settings come from a JSON file the certbot role writes (--config).
"""

from __future__ import annotations

import argparse
import datetime
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time
import typing as t
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

# The served-certificate check the reload handler runs, beside this file too: how Nginx is asked.
from djangoops_served_certificate import served_certificate  # noqa: E402
from renewal import (  # noqa: E402 (beside this file on the proxy)
    AriAnswer,
    ari_certificate_id,
    ask_renewal_info,
    plan_renewal,
)

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402

LINEAGE_FILES = ("cert", "chain", "fullchain", "privkey")
BUNDLE_FORMAT = 1
CHANGED_MARKERS = ("certificate renewed", "certificate adopted")


class JobError(Exception):
    """A step of the job failed; the message says which and why."""


def container_args(container: dict | None, *, publishes_port_80: bool = False) -> list[str]:
    """The docker run options that confine the Certbot container (the setting ``container``, which the role
    also gives the certbot_certificate module; its module_utils _certbot/command.py builds the same options).
    None (a settings file written before the setting existed): Docker's defaults."""
    if not container:
        return []
    argv: list[str] = ["--read-only"] if container.get("read_only") else []
    for entry in container.get("tmpfs") or []:
        argv += ["--tmpfs", entry]
    drop = list(container.get("cap_drop") or [])
    add = list(container.get("cap_add") or [])
    for capability in drop:
        argv += ["--cap-drop", capability]
    if publishes_port_80 and any(c.upper() == "ALL" for c in drop) \
            and not any(c.upper() in ("NET_BIND_SERVICE", "CAP_NET_BIND_SERVICE", "ALL") for c in add):
        add.append("NET_BIND_SERVICE")  # standalone: Certbot binds port 80 itself
    for capability in add:
        argv += ["--cap-add", capability]
    if container.get("no_new_privileges"):
        argv += ["--security-opt", "no-new-privileges"]
    if int(container.get("pids_limit") or 0) > 0:
        argv += ["--pids-limit", str(int(container["pids_limit"]))]
    if str(container.get("memory") or "") not in ("", "0"):
        argv += ["--memory", str(container["memory"])]
    return argv


# ----------------------------------------------------------------------------------------------
# Certificates and lineages


class Candidate(t.NamedTuple):
    """A lineage's current certificate: where it came from, its leaf and its files."""

    origin: str
    leaf: t.Any
    files: dict[str, str]
    renewal_conf: str
    accounts: dict[str, str]


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _not_before(leaf: t.Any) -> datetime.datetime:
    return getattr(leaf, "not_valid_before_utc", None) or leaf.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def _not_after(leaf: t.Any) -> datetime.datetime:
    return getattr(leaf, "not_valid_after_utc", None) or leaf.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def _spki(public_key: t.Any) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def candidate_problem(candidate: Candidate, domains: t.Collection[str], now: datetime.datetime) -> str | None:
    """Why this certificate must not be served here; None when it may."""
    leaf = candidate.leaf
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        have = {name.lower().rstrip(".") for name in names.get_values_for_type(x509.DNSName)}
    except x509.ExtensionNotFound:
        have = set()
    wanted = {name.lower().rstrip(".") for name in domains}
    if have != wanted:
        return "its names (%s) are not the site's (%s)" % (", ".join(sorted(have)), ", ".join(sorted(wanted)))
    if _not_after(leaf) <= now:
        return "it expired at %s" % _not_after(leaf).isoformat()
    try:
        key = serialization.load_pem_private_key(candidate.files["privkey"].encode("ascii"), password=None)
    except (ValueError, TypeError, KeyError) as error:
        return "its private key cannot be loaded (%s)" % (type(error).__name__)
    if _spki(key.public_key()) != _spki(leaf.public_key()):
        return "its private key does not match it"
    return None


_PEM_END = "-----END CERTIFICATE-----"


def _pem_certificates(text: str) -> list[t.Any]:
    """Every certificate of a PEM file, in order (cryptography 38, Debian 12's, has no function for it)."""
    certificates = []
    for block in text.split(_PEM_END)[:-1]:
        begin = block.find("-----BEGIN CERTIFICATE-----")
        if begin >= 0:
            certificates.append(x509.load_pem_x509_certificate((block[begin:] + _PEM_END).encode("ascii")))
    return certificates


def _leaf_of(fullchain: str) -> t.Any:
    return _pem_certificates(fullchain)[0]


def read_local(config_dir: str, cert_name: str) -> Candidate | None:
    """The lineage this proxy serves (live/<name>, symlinks into archive/ or plain files); None if none."""
    live = os.path.join(config_dir, "live", cert_name)
    files = {}
    for kind in LINEAGE_FILES:
        path = os.path.join(live, kind + ".pem")
        if kind in ("cert", "chain") and not os.path.exists(path):
            continue  # copies made before this job existed held fullchain and privkey only
        try:
            with open(path, encoding="ascii") as handle:
                files[kind] = handle.read()
        except (OSError, ValueError):
            return None
    try:
        leaf = _leaf_of(files["fullchain"])
    except (ValueError, KeyError, IndexError):
        return None
    renewal_conf = _read_text(os.path.join(config_dir, "renewal", cert_name + ".conf"))
    accounts = {}
    accounts_dir = os.path.join(config_dir, "accounts")
    for root, _dirs, names in os.walk(accounts_dir):
        for name in names:
            path = os.path.join(root, name)
            accounts[os.path.relpath(path, accounts_dir)] = _read_text(path)
    return Candidate("this proxy", leaf, files, renewal_conf, accounts)


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return ""


def bundle_of(candidate: Candidate | None, cert_name: str, host: str, *, failed: bool = False,
              at: float | None = None) -> dict:
    """What a proxy exports: its lineage (none yet: no files), and when its last run ended and whether it
    failed, which tell the proxies after it in the renewal order whether to wait for it."""
    document: dict = {"format": BUNDLE_FORMAT, "host": host, "cert_name": cert_name, "last_run_failed": failed,
                      "last_run_at": time.time() if at is None else at}
    if candidate is not None:
        document.update(files=candidate.files, renewal_conf=candidate.renewal_conf, accounts=candidate.accounts)
    return document


def candidate_from_bundle(document: t.Any, cert_name: str, origin: str) -> Candidate:
    """A peer's exported lineage; JobError when it is not one."""
    if not isinstance(document, dict) or document.get("format") != BUNDLE_FORMAT:
        raise JobError("%s: not a lineage export of this job" % origin)
    if document.get("cert_name") != cert_name:
        raise JobError("%s exports lineage %r, not %r" % (origin, document.get("cert_name"), cert_name))
    files = document.get("files")
    if not isinstance(files, dict) or not {"fullchain", "privkey"} <= set(files):
        raise JobError("%s: the export lacks fullchain or privkey" % origin)
    accounts = document.get("accounts") or {}
    for relative in accounts:
        _safe_relative(relative, origin)
    try:
        leaf = _leaf_of(files["fullchain"])
    except (ValueError, IndexError) as error:
        raise JobError("%s: the exported fullchain holds no certificate (%s)" % (origin, error))
    return Candidate(origin, leaf, {k: v for k, v in files.items() if k in LINEAGE_FILES},
                     str(document.get("renewal_conf") or ""), accounts)


def _safe_relative(path: str, origin: str) -> str:
    normal = os.path.normpath(path)
    if os.path.isabs(path) or normal.startswith("..") or normal != path:
        raise JobError("%s: the export names a file outside the accounts directory (%r)" % (origin, path))
    return normal


def newest(candidates: t.Iterable[Candidate]) -> Candidate | None:
    """The most recently issued certificate (ties: the larger serial, so every proxy picks the same)."""
    ordered = sorted(candidates, key=lambda c: (_not_before(c.leaf), c.leaf.serial_number))
    return ordered[-1] if ordered else None


def _write_atomic(path: str, content: str, mode: int) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".djangoops-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(content)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _archive_versions(archive: str) -> list[int]:
    versions = []
    for name in os.listdir(archive) if os.path.isdir(archive) else []:
        stem = name[:-4] if name.endswith(".pem") else ""
        for kind in LINEAGE_FILES:
            if stem.startswith(kind) and stem[len(kind):].isdigit():
                versions.append(int(stem[len(kind):]))
    return versions


def install(candidate: Candidate, config_dir: str, cert_name: str) -> int:
    """Make ``candidate`` this proxy's lineage as Certbot lays one out: a new version in archive/, live/
    symlinks to it, the renewal configuration and the ACME account, so any proxy can renew it."""
    archive = os.path.join(config_dir, "archive", cert_name)
    live = os.path.join(config_dir, "live", cert_name)
    os.makedirs(archive, mode=0o700, exist_ok=True)
    os.makedirs(live, mode=0o755, exist_ok=True)
    version = max(_archive_versions(archive), default=0) + 1
    files = dict(candidate.files)
    chain = _pem_certificates(files["fullchain"])
    files.setdefault("cert", chain[0].public_bytes(serialization.Encoding.PEM).decode("ascii"))
    files.setdefault("chain", "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in chain[1:]))
    for kind in LINEAGE_FILES:
        _write_atomic(os.path.join(archive, "%s%d.pem" % (kind, version)), files[kind],
                      0o600 if kind == "privkey" else 0o644)
    for kind in LINEAGE_FILES:
        link = os.path.join(live, kind + ".pem")
        temporary = link + ".djangoops-new"
        if os.path.lexists(temporary):
            os.unlink(temporary)
        os.symlink(os.path.join("..", "..", "archive", cert_name, "%s%d.pem" % (kind, version)), temporary)
        os.replace(temporary, link)
    if candidate.renewal_conf:
        _write_atomic(os.path.join(config_dir, "renewal", cert_name + ".conf"), candidate.renewal_conf, 0o644)
    accounts_dir = os.path.join(config_dir, "accounts")
    for relative, content in candidate.accounts.items():
        path = os.path.join(accounts_dir, _safe_relative(relative, candidate.origin))
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        _write_atomic(path, content, 0o400 if relative.endswith("private_key.json") else 0o444)
    return version


# ----------------------------------------------------------------------------------------------
# The job


class Job:
    def __init__(self, settings: dict, *, run: t.Callable[..., subprocess.CompletedProcess] = subprocess.run,
                 now: t.Callable[[], datetime.datetime] = _utc_now, out: t.TextIO = sys.stdout) -> None:
        self.s = settings
        self.run = run
        self.now = now
        self.out = out
        self.peer_state: dict[str, int] = {}  # 1 when the peer answered this run
        self.peer_failed: dict[str, bool] = {}  # whether the peer's own last run failed
        self.peer_last_run: dict[str, float] = {}  # when it ended (epoch seconds)

    def say(self, message: str) -> None:
        print(message, file=self.out, flush=True)

    # Peers ---------------------------------------------------------------------------------------

    def pull(self, peer: dict) -> Candidate | None:
        argv = [
            "ssh", "-i", self.s["sync_key"], "-p", str(peer.get("port", 22)),
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=" + self.s["known_hosts"], "-o", "ConnectTimeout=5",
            "-o", "LogLevel=ERROR", "%s@%s" % (self.s["sync_user"], peer["address"]),
        ]
        try:
            done = self.run(argv, capture_output=True, text=True, timeout=30, check=False)
        except subprocess.TimeoutExpired:
            self.say("peer %s: no answer within 30 s" % peer["name"])
            self.peer_state[peer["name"]] = 0
            return None
        self.peer_state[peer["name"]] = int(done.returncode == 0)
        if done.returncode != 0:
            self.say("peer %s: unreachable (%s)" % (peer["name"], (done.stderr.strip().splitlines() or ["ssh exit %d" % done.returncode])[-1]))
            return None
        if not done.stdout.strip():
            self.say("peer %s: holds no certificate yet" % peer["name"])
            return None
        try:
            document = json.loads(done.stdout)
            if isinstance(document, dict):
                self.peer_failed[peer["name"]] = bool(document.get("last_run_failed"))
                self.peer_last_run[peer["name"]] = float(document.get("last_run_at") or 0)
            if isinstance(document, dict) and "files" not in document:
                self.say("peer %s: holds no certificate yet" % peer["name"])
                return None
            return candidate_from_bundle(document, self.s["cert_name"], peer["name"])
        except (ValueError, JobError) as error:
            self.say("peer %s: %s" % (peer["name"], error))
            return None

    def sync(self, local: Candidate | None, *, check: bool, require_peers: t.Collection[str] = ()) -> Candidate | None:
        """Adopt the newest valid certificate among the peers' when it is newer than ours."""
        now = self.now()
        usable = []
        for peer in self.s["peers"]:
            candidate = self.pull(peer)
            if peer["name"] in require_peers and not self.peer_state.get(peer["name"]):
                raise JobError(
                    "peer %s did not answer over SSH as %s at %s; check that this proxy reaches it on port %s and"
                    " that its authorized_keys allow this proxy's address" % (
                        peer["name"], self.s["sync_user"], peer["address"], peer.get("port", 22)))
            if candidate is None:
                continue
            problem = candidate_problem(candidate, self.s["domains"], now)
            if problem:
                self.say("peer %s: not taken, %s" % (peer["name"], problem))
            else:
                usable.append(candidate)
        local_ok = local is not None and candidate_problem(local, self.s["domains"], now) is None
        best = newest(usable + ([local] if local_ok else []))
        if best is None or (local_ok and best is local):
            return None
        if local is not None and best.leaf.serial_number == local.leaf.serial_number:
            return None
        if check:
            self.say("would adopt serial %x from %s" % (best.leaf.serial_number, best.origin))
            return best
        version = install(best, self.s["config_dir"], self.s["cert_name"])
        self.say("certificate adopted: serial %x from %s (version %d)" % (best.leaf.serial_number, best.origin, version))
        return best

    def export(self, local: Candidate | None, *, failed: bool) -> None:
        """What the peers read: this proxy's lineage and last outcome, readable by the sync user only."""
        if not self.s.get("bundle"):
            return
        document = json.dumps(bundle_of(local, self.s["cert_name"], self.s["host"], failed=failed,
                                        at=self.now().timestamp()), sort_keys=True)
        _write_atomic(self.s["bundle"], document, 0o640)
        gid = self.s.get("bundle_gid")
        if gid is not None:
            os.chown(self.s["bundle"], 0, int(gid))

    # Renewal -------------------------------------------------------------------------------------

    def ari(self, leaf: t.Any) -> AriAnswer | None:
        if not self.s.get("ari", True):
            return None
        try:
            certificate_id = ari_certificate_id(leaf)
        except ValueError as error:
            return AriAnswer(None, str(error))
        try:
            status, _headers, body = self.fetch(self.s["directory"])
            directory = json.loads(body) if status == 200 else {}
        except Exception as error:
            return AriAnswer(None, "cannot read the ACME directory (%s)" % error)
        return ask_renewal_info(directory, certificate_id, self.fetch)

    def fetch(self, url: str) -> tuple[int, dict, bytes]:
        import ssl
        import urllib.error

        context = ssl.create_default_context(cafile=self.s.get("ca_bundle") or None)
        try:
            with urllib.request.urlopen(url, timeout=15, context=context) as response:  # noqa: S310 (https)
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, {}, b""

    def plan(self, local: Candidate):
        leaf = local.leaf
        return plan_renewal(
            _not_before(leaf), _not_after(leaf),
            certificate_id=self._certificate_key(leaf),
            ari=self.ari(leaf),
            fraction=self.s["fraction"], short_lived_fraction=self.s["short_lived_fraction"],
            rank=self.s["rank"], ranks=self.s["ranks"],
        )

    @staticmethod
    def _certificate_key(leaf: t.Any) -> str:
        try:
            return ari_certificate_id(leaf)
        except ValueError:
            return "%x" % leaf.serial_number

    def certbot_renew(self) -> None:
        if self.s.get("ca_bundle") and not os.path.isfile(self.s["ca_bundle"]):
            # Docker would mount an empty directory in its place, and Certbot fail to trust the CA.
            raise JobError("the ACME CA bundle %s is not a file on this proxy; run site.yml to install it"
                           % self.s["ca_bundle"])
        argv = (["docker", "run", "--rm", "--name", "djangoops-certbot-renew"]
                + container_args(self.s.get("container"), publishes_port_80=bool(self.s.get("publish_http")))
                + ["-v", "%s:/etc/letsencrypt" % self.s["config_dir"],
                   "-v", "%s:/var/lib/letsencrypt" % self.s["work_dir"]])
        for path in self.s.get("mounts", []):
            argv += ["-v", "%s:%s" % (path, path)]
        if self.s.get("publish_http"):
            argv += ["-p", "80:80"]  # standalone: Certbot answers the challenge itself
        if self.s.get("ca_bundle"):
            argv += ["-v", "%s:/etc/djangoops-acme-ca.pem:ro" % self.s["ca_bundle"],
                     "-e", "REQUESTS_CA_BUNDLE=/etc/djangoops-acme-ca.pem"]
        # The lineage's renewal configuration keeps how it was validated (webroot path, authenticator and
        # profile); this job has decided the time, so Certbot is told to renew now and not ask ARI again.
        argv += [self.s["image"], "renew", "--non-interactive", "--cert-name", self.s["cert_name"],
                 "--force-renewal", "--no-random-sleep-on-renew"]
        done = self.run(argv, capture_output=True, text=True, check=False, timeout=900)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-12:])
            raise JobError("certbot renew failed (exit %d):\n%s" % (done.returncode, tail))

    # Nginx ---------------------------------------------------------------------------------------

    def reload_nginx(self) -> None:
        container, config = self.s["nginx_container"], self.s["nginx_config"]
        state = self.run(["docker", "inspect", "--format", "{{.State.Running}}", container],
                         capture_output=True, text=True, check=False, timeout=60)
        if state.returncode != 0 or state.stdout.strip() != "true":
            # Right after a boot the timer may run before Docker restarted Nginx: it reads the certificate
            # on disk when it starts, so there is nothing to reload (and nothing to alert about).
            self.say("nginx (container %s) is not running here: it serves the new certificate when it starts" % container)
            return
        for argv, what in (
            (["docker", "exec", container, "nginx", "-t", "-q", "-c", config], "nginx -t"),
            (["docker", "exec", container, "nginx", "-c", config, "-s", "reload"], "nginx reload"),
            (self.s["served_check"], "the served-certificate check"),
        ):
            done = self.run(argv, capture_output=True, text=True, check=False, timeout=120)
            if done.returncode != 0:
                raise JobError("%s failed: %s" % (what, (done.stdout + done.stderr).strip()))
            if what == "the served-certificate check":
                self.say(done.stdout.strip())
        self.say("nginx reloaded")

    def served_not_after(self) -> float | None:
        try:
            der = served_certificate(self.s["verify_address"], self.s["verify_port"], self.s["server_name"], timeout=5)
            return _not_after(x509.load_der_x509_certificate(der)).timestamp()
        except (OSError, ValueError):
            return None

    # The run --------------------------------------------------------------------------------------

    def __call__(self, *, force: bool = False, sync_only: bool = False, check: bool = False,
                 reload: bool = True, require_peers: t.Collection[str] = ()) -> int:
        started = time.time()
        error: JobError | None = None
        plan = None
        local = read_local(self.s["config_dir"], self.s["cert_name"])
        changed = False
        try:
            adopted = self.sync(local, check=check, require_peers=require_peers)
            if adopted is not None and not check:
                local, changed = read_local(self.s["config_dir"], self.s["cert_name"]), True
            if local is None:
                self.say("no certificate here or at any reachable peer yet")
            elif not sync_only and not check:
                plan = self.plan(local)
                waiting_for = [] if force else self.ahead_and_well()
                if plan.due(self.now()) and waiting_for:
                    self.say("due here since %s (%s), but %s, before this proxy in the renewal order, answered and its"
                             " last run did not fail: the renewal is left to it" % (
                                 plan.renew_at.isoformat(), plan.note, ", ".join(waiting_for)))
                elif force or plan.due(self.now()):
                    self.say("renewing: %s" % ("forced" if force else "due since %s (%s)" % (plan.renew_at.isoformat(), plan.note)))
                    before = local.files["fullchain"]
                    self.certbot_renew()
                    local = read_local(self.s["config_dir"], self.s["cert_name"])
                    if local is None or local.files["fullchain"] == before:
                        raise JobError("certbot renew exited 0 but the certificate did not change")
                    self.say("certificate renewed: serial %x, valid until %s"
                             % (local.leaf.serial_number, _not_after(local.leaf).isoformat()))
                    changed = True
                    plan = self.plan(local)
                else:
                    self.say("not due until %s (%s)" % (plan.renew_at.isoformat(), plan.note))
            if changed and reload:
                self.reload_nginx()
        except JobError as failure:
            error = failure
            self.say("FAILED: %s" % failure)
        if not check:
            self.export(local, failed=error is not None)
            self.record(started, local, plan, error)
        if error is not None:
            self.alert(local, error)
            return 1
        return 0

    def ahead_and_well(self) -> list[str]:
        """The proxies before this one in the renewal order that answered, whose last run did not fail and
        ran lately (within peer_stale_after seconds: a job that stopped running is no reason to wait).

        A proxy that is due for its turn still leaves the renewal to them: when every proxy was away past
        expiry (or the certificate name just changed), all would otherwise be due at once and each order.
        """
        ahead = self.s["peers"][:self.s["rank"]]
        recent = self.now().timestamp() - float(self.s.get("peer_stale_after", 86400))
        return [peer["name"] for peer in ahead
                if self.peer_state.get(peer["name"]) and not self.peer_failed.get(peer["name"], False)
                and self.peer_last_run.get(peer["name"], 0) >= recent]

    def record(self, started: float, local: Candidate | None, plan: t.Any, error: JobError | None) -> None:
        """The node-exporter textfile: this run's outcome, the certificate's expiry on disk and served."""
        path = self.s.get("metrics_file")
        if not path:
            return
        state_path = self.s["state_file"]
        try:
            with open(state_path, encoding="utf-8") as handle:
                state = json.load(handle)
        except (OSError, ValueError):
            state = {}
        finished = time.time()
        if error is None:
            state["last_success"] = finished
        # A run that did not plan (--sync-only) keeps the last plan for the same certificate.
        serial = "%x" % local.leaf.serial_number if local else None
        if plan is not None:
            state["renew_at"] = {"serial": serial, "at": plan.renew_at.timestamp()}
        renew_at = (state.get("renew_at") or {})
        renew_at = renew_at.get("at") if renew_at.get("serial") == serial and serial else None
        _write_atomic(state_path, json.dumps(state), 0o600)
        label = '{cert_name="%s"}' % self.s["cert_name"].replace("\\", "\\\\").replace('"', '\\"')
        lines = []

        def gauge(name: str, help_text: str, value: float | None, labels: str = label) -> None:
            lines.append("# HELP %s %s" % (name, help_text))
            lines.append("# TYPE %s gauge" % name)
            if value is not None:
                lines.append("%s%s %s" % (name, labels, repr(float(value))))

        gauge("djangoops_certbot_renewal_last_run_timestamp_seconds", "End of the last run of the renewal job.", finished)
        gauge("djangoops_certbot_renewal_last_run_success", "1 when the last run of the renewal job succeeded, else 0.",
              0 if error else 1)
        gauge("djangoops_certbot_renewal_last_success_timestamp_seconds", "End of the last successful run of the renewal job.",
              state.get("last_success"))
        gauge("djangoops_certbot_renewal_duration_seconds", "How long the last run of the renewal job took.",
              finished - started)
        gauge("djangoops_certificate_not_after_timestamp_seconds", "Expiry of the certificate on disk.",
              _not_after(local.leaf).timestamp() if local else None)
        gauge("djangoops_certificate_not_before_timestamp_seconds", "Start of validity of the certificate on disk.",
              _not_before(local.leaf).timestamp() if local else None)
        gauge("djangoops_certificate_renew_at_timestamp_seconds",
              "When this proxy renews the certificate (ARI or lifetime; later on standby proxies).",
              renew_at)
        gauge("djangoops_certificate_served_not_after_timestamp_seconds", "Expiry of the certificate Nginx serves here.",
              self.served_not_after())
        lines.append("# HELP djangoops_certbot_peer_reachable 1 when the last run read the peer's certificate, else 0.")
        lines.append("# TYPE djangoops_certbot_peer_reachable gauge")
        for peer, up in sorted(self.peer_state.items()):
            lines.append('djangoops_certbot_peer_reachable{peer="%s"} %d' % (peer, up))
        _write_atomic(path, "\n".join(lines) + "\n", 0o644)

    def alert(self, local: Candidate | None, error: JobError) -> None:
        url = self.s.get("webhook_url")
        if not url:
            return
        body = json.dumps({
            "event": "certificate_renewal_failed",
            "host": self.s["host"],
            "cert_name": self.s["cert_name"],
            "error": str(error),
            "not_after": _not_after(local.leaf).isoformat() if local else None,
            "served_not_after": self.served_not_after(),
        }).encode("utf-8")
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (the user's webhook)
                pass
        except Exception as failure:  # the alert is best effort; the exit status and metrics still tell
            print("the failure could not be posted to the webhook: %s" % type(failure).__name__, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="/etc/djangoops/certbot-renew.json")
    parser.add_argument("--force-renewal", action="store_true", help="renew now, whatever the schedule says")
    parser.add_argument("--sync-only", action="store_true", help="take the peers' newest certificate, renew nothing")
    parser.add_argument("--check", action="store_true", help="say what a sync would adopt; change nothing")
    parser.add_argument("--require-peer", action="append", default=[], metavar="NAME",
                        help="fail when this peer does not answer (a converge names the proxies it reaches)")
    parser.add_argument("--no-reload", action="store_true",
                        help="leave Nginx alone (the certbot role reloads it in its own time during a converge)")
    # Accepted for the callers of the former shell job; this job never sleeps (the timer spreads starts).
    parser.add_argument("--no-random-sleep-on-renew", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    with open(args.config, encoding="utf-8") as handle:
        settings = json.load(handle)
    # One run at a time on this host: the timer, playbooks/renew.yml and a run by hand.
    with open(settings.get("lock_file", "/var/lock/djangoops-certbot-renew.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return Job(settings)(force=args.force_renewal, sync_only=args.sync_only, check=args.check,
                             reload=not args.no_reload, require_peers=args.require_peer)


if __name__ == "__main__":
    sys.exit(main())
