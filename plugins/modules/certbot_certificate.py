#!/usr/bin/python
# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


DOCUMENTATION = r"""
module: certbot_certificate
short_description: Obtain a Let's Encrypt certificate with Certbot in Docker, staging first
version_added: 0.1.0
description:
  - Runs on the proxy host and keeps one Certbot certificate lineage in O(config_dir) valid for O(domains).
  - Decides from the certificate on disk whether a request is needed at all; when the certificate is valid, covers the
    requested domains, was not issued by a staging CA, matches its private key and is not due for renewal, no ACME
    server is contacted.
  - When a certificate is needed, Certbot runs in a throwaway C(docker run --rm) container, first against
    O(staging_directory) with its own state in O(staging_config_dir), and only when that succeeds against
    O(production_directory). A broken DNS record, webroot or firewall therefore fails on staging and never uses up
    production rate limits.
  - The staging certificate never lands in the production lineage, because staging state lives in a separate
    configuration directory.
author:
  - djangoops.fleet developers (@djangoops)
requirements:
  - The C(docker) CLI on the host, talking to a running Docker engine that can run O(certbot_image).
  - The Python C(cryptography) library on the host.
extends_documentation_fragment:
  - djangoops.fleet._attributes
  - djangoops.fleet._attributes.ACTIONGROUP_FLEET
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the certificate on disk and reports the C(docker) commands it would run; it orders nothing
        (with O(ari=true) it reads the CA's directory and renewal window, as a real run does).
  diff_mode:
    support: full
    details:
      - Serial, issuer, expiry and domains before and after; never PEM data or key material.
  idempotent:
    support: full
options:
  domains:
    description:
      - The DNS names the certificate must cover.
      - The first one names the lineage unless O(cert_name) is set.
      - A certificate whose names differ from this list in any way (a name missing or an extra name) is replaced.
    type: list
    elements: str
    required: true
  cert_name:
    description:
      - The Certbot lineage name, the directory under C(live/) that holds C(fullchain.pem) and C(privkey.pem).
      - Defaults to the first entry of O(domains).
    type: str
  email:
    description:
      - The contact address registered with the ACME account; the CA sends expiry warnings there.
      - Without it the account is registered with C(--register-unsafely-without-email).
    type: str
  staging_directory:
    description:
      - The ACME directory URL tried first. Its certificate is thrown away; it only proves that validation works.
      - Must differ from O(production_directory).
    type: str
    default: https://acme-staging-v02.api.letsencrypt.org/directory
  production_directory:
    description:
      - The ACME directory URL of the CA that issues the certificate that is kept.
    type: str
    default: https://acme-v02.api.letsencrypt.org/directory
  challenge:
    description:
      - How the CA validates the domains.
      - V(webroot) writes the challenge files to O(webroot), which the web server on port 80 must serve at
        C(/.well-known/acme-challenge/).
      - V(standalone) lets Certbot answer itself; the container publishes port 80, so nothing else may listen there.
      - V(dns-rfc2136) (DNS-01) has Certbot's RFC 2136 plugin add the challenge's TXT record through a DNS server
        that takes TSIG-signed updates (O(dns_credentials)); the only way to certify a wildcard name, and one that
        needs nothing reachable on port 80. O(certbot_image) must contain the plugin (C(certbot/dns-rfc2136)).
      - The way a lineage was validated is kept in its renewal configuration; a lineage validated another way is
        ordered anew, so renewals follow the new setting.
    type: str
    choices: [webroot, standalone, dns-rfc2136]
    default: webroot
  dns_credentials:
    description:
      - With O(challenge=dns-rfc2136), the host file holding the plugin's credentials (C(dns_rfc2136_server),
        C(dns_rfc2136_port), C(dns_rfc2136_name), C(dns_rfc2136_secret), C(dns_rfc2136_algorithm)); mode 0600.
      - It is mounted read-only at the same path inside the container, where the lineage's renewal configuration
        names it.
    type: path
  dns_propagation_seconds:
    description:
      - With O(challenge=dns-rfc2136), how long Certbot waits after adding the TXT record before the CA checks it
        (every server the CA may ask must have the record by then).
    type: int
    default: 60
  webroot:
    description:
      - The host directory served at C(http://DOMAIN/.well-known/acme-challenge/) for every domain.
      - It is mounted at the same path inside the Certbot container. Used only with O(challenge=webroot).
    type: path
    default: /var/www/html
  config_dir:
    description:
      - The host directory holding the production Certbot state, mounted at C(/etc/letsencrypt) in the container.
      - The certificate is at C(<config_dir>/live/<cert_name>/fullchain.pem).
    type: path
    default: /etc/letsencrypt
  staging_config_dir:
    description:
      - The host directory holding the staging Certbot state. It must differ from O(config_dir).
      - Defaults to O(config_dir) with C(-staging) appended, for example C(/etc/letsencrypt-staging).
    type: path
  work_dir:
    description:
      - The host directory for Certbot's working files in production, mounted at C(/var/lib/letsencrypt).
      - Staging uses the same path with C(-staging) appended.
    type: path
    default: /var/lib/letsencrypt
  certbot_image:
    description:
      - The Docker image that runs Certbot; its entrypoint must be C(certbot).
    type: str
    default: certbot/certbot:v5.8.0
  ca_bundle:
    description:
      - A PEM file on the host with the CA that signed the ACME server's HTTPS certificate, for private ACME servers
        such as Pebble.
      - It is mounted read-only into the container and exported as E(REQUESTS_CA_BUNDLE).
    type: path
  renew_before:
    description:
      - Without a usable ARI window (see O(ari)), renew once less than this fraction of the certificate's lifetime
        remains, for example V(0.33) renews a 90-day certificate about 30 days before it expires. Applies to
        certificates valid for 10 days or more; shorter ones follow O(renew_before_short_lived).
      - Must be greater than 0 and less than 1. Mutually exclusive with O(renew_before_days).
      - When neither option is set, the certificate is renewed once less than a third of its lifetime remains.
    type: float
  renew_before_short_lived:
    description:
      - Like O(renew_before), for certificates valid for less than 10 days (Let's Encrypt's 6-day C(shortlived)
        profile). The default renews with half the lifetime left, so a failed renewal leaves days to react.
      - Must be greater than 0 and less than 1.
    type: float
    default: 0.5
  ari:
    description:
      - Ask the production CA when to renew (ACME Renewal Information, RFC 9773) for a certificate that is otherwise
        fine. A window that ends before the certificate expires is followed, at a point within it fixed by the
        certificate (the same on every run); a window already over renews at once (how a CA asks for early
        renewal after an incident).
      - A CA without ARI, an unreachable CA or an unusable answer falls back to O(renew_before) or
        O(renew_before_days), as does a window ending after expiry.
    type: bool
    default: true
  profile:
    description:
      - The ACME certificate profile to order, for example V(shortlived) or V(tlsserver) at Let's Encrypt; unset for
        the CA's default.
      - Sent as Certbot's C(--required-profile), so a CA that lacks the profile fails the order (on staging first)
        instead of issuing its default; a directory that lists its profiles is checked before any order.
      - Certbot keeps it in the lineage's renewal configuration; a certificate ordered with another profile is
        replaced.
    type: str
  renew_before_days:
    description:
      - Renew once fewer than this many days remain before the certificate expires. Must be at least 1.
      - Mutually exclusive with O(renew_before).
    type: int
  key_type:
    description:
      - The type of the certificate's private key. Changing it replaces the certificate.
    type: str
    choices: [ecdsa, rsa]
    default: ecdsa
  force:
    description:
      - Request a new certificate (staging, then production) even when the current one is fine.
    type: bool
    default: false
  lock_file:
    description:
      - A file locked (C(flock)) for the whole decision and issuance, the same the certbot role's renewal job locks,
        so a renewal by the job and one by this module never run at once (each would order a certificate).
      - Not taken in check mode, which only reads.
    type: path
    default: /var/lock/djangoops-certbot-renew.lock
  docker_network:
    description:
      - The Docker network the Certbot container joins. Defaults to Docker's default bridge.
      - Useful when the ACME server is another container on a user-defined network.
    type: str
  container:
    description:
      - How the Certbot containers are confined. The defaults harden them; relax an option only for an image that needs
        it.
      - Certbot writes to the mounted O(config_dir), O(work_dir) and O(webroot), and to the tmpfs mounts of
        O(container.tmpfs) (its logs in C(/var/log/letsencrypt), temporary files in C(/tmp)); nothing else.
      - Changing these options never orders a certificate; they apply to the next Certbot run.
    type: dict
    suboptions:
      read_only:
        description:
          - Mount the container's root file system read-only (C(--read-only)). Needs a O(container.tmpfs) entry for
            C(/var/log/letsencrypt).
        type: bool
        default: true
      tmpfs:
        description:
          - The tmpfs mounts, each C(<absolute path>:<mount options>) as C(--tmpfs) takes it.
        type: list
        elements: str
        default: ["/tmp:rw,noexec,nosuid,nodev,size=16m", "/var/log/letsencrypt:rw,noexec,nosuid,nodev,size=16m"]
      cap_drop:
        description:
          - Capabilities dropped (C(--cap-drop)). Certbot runs as root in its container on files root owns, and needs
            none; with O(challenge=standalone) C(NET_BIND_SERVICE) is added back when C(ALL) is dropped.
        type: list
        elements: str
        default: [ALL]
      cap_add:
        description: Capabilities given back (C(--cap-add)).
        type: list
        elements: str
        default: []
      no_new_privileges:
        description: Run with C(--security-opt no-new-privileges).
        type: bool
        default: true
      pids_limit:
        description: Processes the container may run (C(--pids-limit)); V(0) for no limit.
        type: int
        default: 128
      memory:
        description: Memory limit (C(--memory)), for example V(256m); empty or V(0) for none.
        type: str
        default: 256m
notes:
  - Certbot's own C(certbot renew) timer is not needed; run this module regularly instead, it renews when due.
  - Reload the web server after a change, for example with a handler notified by this task.
seealso:
  - name: Let's Encrypt staging environment
    description: Why to test against staging first.
    link: https://letsencrypt.org/docs/staging-environment/
  - module: community.crypto.x509_certificate_info
"""

EXAMPLES = r"""
- name: Ensure the proxy has a certificate for the site
  djangoops.fleet.certbot_certificate:
    domains:
      - shop.example.com
      - www.shop.example.com
    email: ops@example.com
  notify: Reload nginx

- name: Ensure a certificate from a private ACME server (lab Pebble instances)
  djangoops.fleet.certbot_certificate:
    domains:
      - app.lab.test
    staging_directory: https://10.20.0.2:14000/dir
    production_directory: https://10.20.0.3:14000/dir
    ca_bundle: /etc/ssl/lab/pebble-api-ca.pem
    docker_network: lab
    renew_before_days: 30
    certbot_image: djangoops-lab/certbot:latest

- name: Ensure a wildcard certificate over DNS-01 (RFC 2136 updates to the zone's primary server)
  djangoops.fleet.certbot_certificate:
    domains:
      - shop.example.com
      - "*.shop.example.com"
    challenge: dns-rfc2136
    dns_credentials: /etc/djangoops/certbot-rfc2136.ini
    certbot_image: certbot/dns-rfc2136:v5.8.0
"""

RETURN = r"""
stage:
  description:
    - V(unchanged) when the certificate was kept, V(issued) when there was none before, V(renewed) when one was
      replaced.
    - In check mode, what would happen.
    - When Certbot failed, the stage that failed, V(staging) or V(production). Production is never contacted when
      staging fails.
  returned: success, or when a Certbot run failed
  type: str
  sample: issued
reason:
  description:
    - Why a certificate was or was not requested.
    - When Certbot failed, what went wrong in plain words, for example
      C(DNS for www.shop.example.com does not point here).
  returned: success, or when a Certbot run failed
  type: str
  sample: "domains changed: missing www.shop.example.com"
cert_name:
  description: The lineage name.
  returned: success
  type: str
  sample: shop.example.com
issuer:
  description: The issuer (RFC 4514) of the production certificate now on disk, or null when there is none.
  returned: success
  type: str
  sample: CN=R11,O=Let's Encrypt,C=US
serial:
  description: The serial number, in hexadecimal, of the production certificate now on disk.
  returned: success
  type: str
  sample: 4a3f0c2d9e1b7a6c5d4e3f2a1b0c9d8e7f6
not_after:
  description: When the production certificate now on disk expires, ISO 8601 in UTC.
  returned: success
  type: str
  sample: "2027-02-22T18:41:50+00:00"
domains:
  description: The DNS names (SAN) of the production certificate now on disk, sorted.
  returned: success
  type: list
  elements: str
  sample: [shop.example.com, www.shop.example.com]
renew_at:
  description:
    - When the certificate kept on disk is due for renewal (ISO 8601, UTC), from the CA's ARI window or its lifetime;
      null when a certificate was requested.
  returned: success
  type: str
  sample: "2027-01-23T07:12:40+00:00"
fullchain:
  description: Path of the production certificate chain on the host, for the web server configuration.
  returned: success
  type: str
  sample: /etc/letsencrypt/live/shop.example.com/fullchain.pem
privkey:
  description: Path of the production private key on the host.
  returned: success
  type: str
  sample: /etc/letsencrypt/live/shop.example.com/privkey.pem
staging:
  description: Issuer and serial of the staging certificate obtained in this run; null when staging did not run.
  returned: success
  type: dict
  sample: {issuer: "CN=(STAGING) Ersatz Edamame E1,O=(STAGING) Let's Encrypt,C=US", serial: 2b1f0e}
  contains:
    issuer:
      description: Issuer (RFC 4514) of the staging certificate.
      type: str
    serial:
      description: Serial number (hexadecimal) of the staging certificate.
      type: str
commands:
  description:
    - The C(docker run) commands run in this order, staging first; in check mode the commands that would run.
    - Empty when no certificate was needed.
  returned: success
  type: list
  elements: list
  sample: [[docker, run, --rm, --name, certbot-shop.example.com-staging, "..."]]
output_tail:
  description: The last lines of Certbot's output when a stage failed.
  returned: failure
  type: list
  elements: str
"""

import datetime

import contextlib
import fcntl
import json
from urllib.error import HTTPError

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.urls import open_url

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.command import (
    CHALLENGES,
    DEFAULT_CONFIG_DIR,
    DEFAULT_DNS_PROPAGATION_SECONDS,
    DEFAULT_IMAGE,
    DEFAULT_WEBROOT,
    DEFAULT_WORK_DIR,
    PRODUCTION_DIRECTORY,
    STAGING_DIRECTORY,
    CertbotRequest,
    ContainerSecurity,
    acme_targets,
    host_path_problems,
    obtain_certificate,
    planned_commands,
)
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.errors import CertbotError, CertbotRunError
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.lineage import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
    inspect_lineage,
    renewal_authenticator,
    renewal_profile,
    staging_issuer_names,
)
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.renewal import AriAnswer, ask_renewal_info
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.policy import RenewalPolicy, decide
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.views import (
    certificate_view,
    diff_summary,
    planned_view,
)


def argument_spec() -> dict:
    return dict(
        domains=dict(type="list", elements="str", required=True),
        cert_name=dict(type="str"),
        email=dict(type="str"),
        staging_directory=dict(type="str", default=STAGING_DIRECTORY),
        production_directory=dict(type="str", default=PRODUCTION_DIRECTORY),
        challenge=dict(type="str", choices=list(CHALLENGES), default="webroot"),
        dns_credentials=dict(type="path"),
        dns_propagation_seconds=dict(type="int", default=DEFAULT_DNS_PROPAGATION_SECONDS),
        webroot=dict(type="path", default=DEFAULT_WEBROOT),
        config_dir=dict(type="path", default=DEFAULT_CONFIG_DIR),
        staging_config_dir=dict(type="path"),
        work_dir=dict(type="path", default=DEFAULT_WORK_DIR),
        certbot_image=dict(type="str", default=DEFAULT_IMAGE),
        ca_bundle=dict(type="path"),
        renew_before=dict(type="float"),
        renew_before_days=dict(type="int"),
        renew_before_short_lived=dict(type="float", default=0.5),
        ari=dict(type="bool", default=True),
        profile=dict(type="str"),
        # Names the algorithm, not key material.
        key_type=dict(type="str", choices=["ecdsa", "rsa"], default="ecdsa", no_log=False),
        force=dict(type="bool", default=False),
        docker_network=dict(type="str"),
        lock_file=dict(type="path", default="/var/lock/djangoops-certbot-renew.lock"),
        container=dict(
            type="dict",
            apply_defaults=True,
            options=dict(
                read_only=dict(type="bool", default=True),
                tmpfs=dict(type="list", elements="str", default=list(ContainerSecurity.tmpfs)),
                cap_drop=dict(type="list", elements="str", default=list(ContainerSecurity.cap_drop)),
                cap_add=dict(type="list", elements="str", default=[]),
                no_new_privileges=dict(type="bool", default=True),
                pids_limit=dict(type="int", default=ContainerSecurity.pids_limit),
                memory=dict(type="str", default=ContainerSecurity.memory),
            ),
        ),
    )


def _container(options: dict) -> ContainerSecurity:
    return ContainerSecurity(
        read_only=options["read_only"],
        tmpfs=tuple(options["tmpfs"]),
        cap_drop=tuple(options["cap_drop"]),
        cap_add=tuple(options["cap_add"]),
        no_new_privileges=options["no_new_privileges"],
        pids_limit=options["pids_limit"],
        memory=options["memory"] or "",
    )


def _request(params: dict) -> CertbotRequest:
    domains = tuple(params["domains"])
    if not domains:
        raise CertbotError("domains must name at least one DNS name")
    return CertbotRequest(
        cert_name=params["cert_name"] or domains[0],
        domains=domains,
        email=params["email"],
        challenge=params["challenge"],
        webroot=params["webroot"],
        key_type=params["key_type"],
        image=params["certbot_image"],
        ca_bundle=params["ca_bundle"],
        docker_network=params["docker_network"],
        profile=params["profile"] or None,
        dns_credentials=params["dns_credentials"],
        dns_propagation_seconds=params["dns_propagation_seconds"],
        container=_container(params["container"]),
    )


class AcmeReader:
    """Unauthenticated GETs to a CA (directory, renewal windows), with the module's CA bundle."""

    def __init__(self, ca_bundle: str | None, timeout: int = 15) -> None:
        self.ca_bundle = ca_bundle
        self.timeout = timeout
        self.directories: dict[str, dict] = {}

    def fetch(self, url: str) -> tuple[int, dict, bytes]:
        try:
            response = open_url(url, method="GET", ca_path=self.ca_bundle, timeout=self.timeout,
                                http_agent="djangoops.fleet certbot_certificate")
        except HTTPError as error:  # an answer all the same (404 for a certificate the CA does not know)
            return error.code, {}, b""
        return response.getcode(), {k.lower(): v for k, v in response.headers.items()}, response.read()

    def directory(self, url: str) -> dict:
        """The ACME directory document; CertbotError naming the URL when it cannot be read."""
        if url not in self.directories:
            try:
                status, _headers, body = self.fetch(url)
                document = json.loads(body)
            except Exception as error:
                raise CertbotError("cannot read the ACME directory %s (%s)" % (url, error))
            if status != 200 or not isinstance(document, dict):
                raise CertbotError("the ACME directory %s answered HTTP %s without a directory" % (url, status))
            self.directories[url] = document
        return self.directories[url]

    def renewal_info(self, directory_url: str, certificate) -> AriAnswer:
        if not certificate.ari_id:
            return AriAnswer(None, "the certificate has no authority key identifier for ARI")
        try:
            directory = self.directory(directory_url)
        except CertbotError as error:
            return AriAnswer(None, str(error))
        return ask_renewal_info(directory, certificate.ari_id, self.fetch)


def profile_problem(profile: str | None, directory_url: str, directory: dict) -> str | None:
    """Why ``profile`` cannot be ordered from this CA; None when it can, or when the CA lists no profiles."""
    if not profile:
        return None
    offered = (directory.get("meta") or {}).get("profiles")
    if not isinstance(offered, dict) or not offered:
        return None  # the CA decides; with --required-profile it refuses what it lacks
    if profile not in offered:
        return "profile %s is not offered by %s, which offers %s; set profile to one of them" % (
            profile, directory_url, ", ".join(sorted(offered)))
    return None


def run_module(module: AnsibleModule, *, now: datetime.datetime) -> dict:
    params = module.params
    request = _request(params)
    policy = RenewalPolicy.from_options(
        fraction=params["renew_before"],
        days=params["renew_before_days"],
        short_lived_fraction=params["renew_before_short_lived"],
    )
    reader = AcmeReader(params["ca_bundle"])
    staging_target, production_target = targets = acme_targets(
        staging_directory=params["staging_directory"],
        production_directory=params["production_directory"],
        config_dir=params["config_dir"],
        work_dir=params["work_dir"],
        staging_config_dir=params["staging_config_dir"],
    )
    production = inspect_lineage(production_target.live_dir(request.cert_name))
    staging = inspect_lineage(staging_target.live_dir(request.cert_name))
    staging_issuers = staging_issuer_names(staging.certificate)
    decision = decide(
        production,
        domains=request.domains,
        staging_issuers=staging_issuers,
        policy=policy,
        now=now,
        force=params["force"],
        key_type=request.key_type,
        ari=(lambda certificate: reader.renewal_info(production_target.directory, certificate)) if params["ari"] else None,
        profile=request.profile,
        stored_profile=renewal_profile(production_target.renewal_conf(request.cert_name)),
        challenge=request.challenge,
        stored_challenge=renewal_authenticator(production_target.renewal_conf(request.cert_name)),
    )
    result = dict(
        changed=decision.changed,
        reason=decision.reason,
        cert_name=request.cert_name,
        fullchain=production.fullchain,
        privkey=production.privkey,
        staging=None,
        commands=[],
        stage="unchanged",
        renew_at=decision.renew_at.isoformat() if decision.renew_at else None,
    )
    result.update(_certificate_fields(certificate_view(production.certificate)))
    if not decision.changed:
        if module._diff:
            result["diff"] = diff_summary(production.certificate, production.certificate)
        return result

    result["stage"] = "renewed" if production.present else "issued"
    docker = module.get_bin_path("docker", required=not module.check_mode) or "docker"
    problems = host_path_problems(request)
    if module.check_mode:
        for problem in problems:
            module.warn(problem)
        result["commands"] = planned_commands(request, targets, docker=docker)
        if module._diff:
            planned = planned_view(request.domains, directory=production_target.directory)
            result["diff"] = diff_summary(production.certificate, None, planned=planned)
        return result
    if request.profile:
        for target in targets:
            try:
                directory = reader.directory(target.directory)
            except CertbotError:
                continue  # Certbot reports an unreachable CA in its own words
            problems.append(profile_problem(request.profile, target.directory, directory))
    problems = [problem for problem in problems if problem]
    if problems:
        raise CertbotError("; ".join(problems))

    outcome = obtain_certificate(
        request, targets, run=module.run_command, staging_issuers=staging_issuers, docker=docker
    )
    result["commands"] = [list(argv) for argv in outcome.commands]
    result["staging"] = dict(issuer=outcome.staging.issuer, serial=outcome.staging.serial)
    result.update(_certificate_fields(certificate_view(outcome.production)))
    if module._diff:
        result["diff"] = diff_summary(production.certificate, outcome.production)
    return result


def _certificate_fields(view: dict) -> dict:
    return dict(
        issuer=view.get("issuer"),
        serial=view.get("serial"),
        not_after=view.get("not_after"),
        domains=view.get("domains", []),
    )


@contextlib.contextmanager
def renewal_lock(path: str | None):
    """Hold ``path`` locked (waiting while the renewal job holds it); nothing when None."""
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("renew_before", "renew_before_days")],
        required_if=[("challenge", "dns-rfc2136", ("dns_credentials",))],
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=CRYPTOGRAPHY_IMPORT_ERROR)
    try:
        with renewal_lock(None if module.check_mode else module.params["lock_file"]):
            # The clock is read under the lock: a wait for the renewal job counts.
            result = run_module(module, now=datetime.datetime.now(datetime.timezone.utc))
    except CertbotRunError as exc:
        module.fail_json(
            msg=str(exc),
            stage=exc.stage,
            reason=exc.reason,
            rc=exc.rc,
            output_tail=list(exc.tail),
        )
    except CertbotError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
