"""Certificates against the lab's two Pebble CAs (staging and production), with two proxies whose
name resolves to both: staging is asked before production, a second run asks nothing, DNS pointing
elsewhere stops in the preflight before any CA hears of it, a challenge that reaches only the proxy
that does not run Certbot still succeeds, and a staging certificate left on disk is replaced."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import subprocess
import typing as t

import dns.update
import pytest
import testinfra
import yaml

from conftest import PROJECT, acme_requests, dns_update, issued_serials, pebble_log, run_playbook, same_serial, server


PROXIES_ONLY = ("--limit", "nginx_proxy,localhost")


def _orders(stage: str, domain: str) -> list[str]:
    """Timestamps of the validations Pebble started for the domain, oldest first."""
    pattern = re.compile(r'^(\S+) .*Pulled a task from the Tasks queue: .*Value:"%s"' % re.escape(domain))
    return [match.group(1) for line in pebble_log(stage) if (match := pattern.match(line))]


@contextlib.contextmanager
def _dns(lab, addresses: list[str]) -> t.Iterator[None]:
    """Point the site's name at these addresses (A and AAAA records, by family) in the lab's public DNS (the
    one Pebble asks), then back at both addresses of every proxy."""

    def point(to: list[str]) -> None:
        def build(update: dns.update.UpdateMessage) -> None:
            for family in ("A", "AAAA"):
                update.delete(f"{lab.domain}.", family)
                for address in to:
                    if (":" in address) == (family == "AAAA"):
                        update.add(f"{lab.domain}.", 60, family, address)

        dns_update(lab, build)

    point(addresses)
    try:
        yield
    finally:
        point([address for proxy in lab.proxies.values() for address in (proxy["ansible_host"], proxy["public_ipv6"])])


@pytest.mark.readonly
def test_staging_saw_the_domain_before_production(lab):
    staging, production = _orders("staging", lab.domain), _orders("production", lab.domain)
    assert staging and production, (staging, production)
    print(f"first staging validation {staging[0]}, first production validation {production[0]}")
    assert staging[0] < production[0]


@pytest.mark.readonly
def test_every_proxy_serves_the_same_production_certificate(client, lab):
    serials = {address: client.served_serial(address) for address in lab.proxy_addresses}
    assert len(set(serials.values())) == 1, serials
    (served,) = set(serials.values())
    assert any(same_serial(served, issued) for issued in issued_serials("production")), served
    assert not any(same_serial(served, issued) for issued in issued_serials("staging")), served
    for address in serials:
        verified = client.run(
            f"curl -sS -o /dev/null -w '%{{http_code}} %{{ssl_verify_result}}' --max-time 10"
            f" --cacert /lab/pki/pebble-production-root.pem --resolve {lab.domain}:443:{address} https://{lab.domain}/polls/"
        )
        assert verified.stdout == "200 0", (address, verified.stdout, verified.stderr)


@pytest.mark.readonly
def test_the_certificates_come_from_the_certbot_release_of_the_roles_default_image(lab):
    """The lab's Certbot stand-in is the release that certbot_image's default tag names, installed from
    the Python index as that image installs it: the certificates here were requested as users' are."""
    issuer = testinfra.get_host(f"docker://djangoops-lab-{next(iter(lab.proxies))}")  # site_acme_issuer: the first
    image = issuer.check_output("docker image ls --format '{{.Repository}}:{{.Tag}}' | grep /lab/certbot:")
    version = issuer.check_output(f"docker run --rm {image} --version")
    default = yaml.safe_load((PROJECT / "roles" / "certbot" / "defaults" / "main.yml").read_text())["certbot_image"]
    assert default.rsplit(":", 1)[1] == f"v{version.split()[-1]}", (default, version)


@pytest.mark.readonly
def test_a_second_run_makes_no_acme_request(lab, second_run):
    assert second_run.returncode == 0, second_run.output[-5000:]
    assert {name: second_run.changed.get(name) for name in lab.proxies} == dict.fromkeys(lab.proxies, 0), second_run.changed
    # Nothing ordered, no nonce taken: the only requests are reads of the production CA's directory and of
    # the certificate's renewal window (ARI), which tell the module the certificate is not due.
    new = {stage: second_run.acme_after[stage][len(second_run.acme_before[stage]):] for stage in second_run.acme_after}
    assert new["staging"] == [], new
    paths = [re.search(r"(GET|POST|HEAD) (\S+) ->", line).groups() for line in new["production"]]
    assert {method for method, _path in paths} <= {"GET"}, new
    assert {path.split("/")[1] for _method, path in paths} <= {"dir", "draft-ietf-acme-ari-03"}, new


@pytest.mark.changes_lab
@pytest.mark.counts_ca_requests  # every request, whatever the name: after the second lane's own certificates
def test_dns_pointing_elsewhere_stops_in_the_preflight_and_no_ca_is_contacted(lab):
    # The client's addresses, an A and an AAAA record: both must be named.
    elsewhere = f"{lab.all_vars['lab_client_address']}, {lab.all_vars['lab_client_address6']}"
    before = {stage: len(acme_requests(stage)) for stage in ("staging", "production")}
    with _dns(lab, elsewhere.split(", ")):
        run = run_playbook("playbooks/site.yml", *PROXIES_ONLY, "-e", "certbot_force=true")
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "ACME preflight failed, no CA was contacted" in output, output
    assert f"{lab.domain} resolves to {elsewhere}, which are not a proxy in the inventory" in output, output
    after = {stage: len(acme_requests(stage)) for stage in ("staging", "production")}
    assert after == before


@pytest.mark.changes_lab
def test_a_challenge_that_reaches_only_the_second_proxy_succeeds(client, lab):
    """proxy1 runs Certbot; with the name resolving to proxy2 alone (its IPv4 and IPv6 addresses), every
    validation reaches proxy2, which fetches the challenge from proxy1. Both proxies then serve the new certificate."""
    proxy2 = lab.proxies["proxy2"]
    issued_before = issued_serials("production")
    proxy2_nginx = testinfra.get_host("docker://djangoops-lab-proxy2")
    since = proxy2_nginx.check_output("date -u +%Y-%m-%dT%H:%M:%SZ")
    with _dns(lab, [proxy2["ansible_host"], proxy2["public_ipv6"]]):
        run = run_playbook("playbooks/site.yml", *PROXIES_ONLY, "-e", "certbot_force=true")
    assert run.returncode == 0, run.stdout + run.stderr
    issued = issued_serials("production")
    assert len(issued) == len(issued_before) + 1, issued
    # Pebble's validation requests, as proxy2's Nginx logged them: answered 200 from proxy1's webroot.
    access = proxy2_nginx.check_output(f"docker logs --since {since} nginx 2>&1")
    challenges = [line for line in access.splitlines() if "/.well-known/acme-challenge/" in line and "djangoops-preflight" not in line]
    assert challenges and all('" 200 ' in line for line in challenges), access
    for address in lab.proxy_addresses:
        assert same_serial(client.served_serial(address), issued[-1]), address


@pytest.fixture()
def production_certificate_served(client, lab):
    """Afterwards every proxy serves a production certificate again (the proxies converged only when
    a check left a staging one in place)."""
    yield
    staged = [address for address in lab.proxy_addresses
              if client.run(f"curl -sS -o /dev/null --max-time 10 --cacert /lab/pki/pebble-production-root.pem"
                            f" --resolve {lab.domain}:443:{address} https://{lab.domain}/polls/").rc != 0]
    if staged:
        converged = run_playbook("playbooks/site.yml", *PROXIES_ONLY)
        assert converged.returncode == 0, converged.stdout + converged.stderr


@pytest.mark.changes_lab
def test_a_staging_certificate_left_on_disk_is_replaced(client, lab, production_certificate_served):
    """An earlier run (or the tutorial's `certbot --staging`) left a staging certificate in the
    lineage Nginx serves: the next run replaces it with a production one, on both proxies."""
    proxy1 = testinfra.get_host("docker://djangoops-lab-proxy1")
    staging_directory = f"https://{lab.all_vars['lab_pebble_staging_address']}:14000/dir"
    image = f"{lab.all_vars['lab_registry_address']}:5000/lab/certbot:5.8.0"
    left = proxy1.run(
        "docker run --rm -v /etc/letsencrypt:/etc/letsencrypt -v /var/lib/letsencrypt:/var/lib/letsencrypt"
        " -v /var/www/html:/var/www/html -v /etc/djangoops/certbot/acme-ca.pem:/acme-ca.pem:ro"
        f" -e REQUESTS_CA_BUNDLE=/acme-ca.pem {image} certonly --non-interactive --agree-tos"
        f" --register-unsafely-without-email --webroot -w /var/www/html --server {staging_directory}"
        f" --cert-name {lab.domain} -d {lab.domain} --force-renewal"
    )
    assert left.rc == 0, left.stdout + left.stderr
    proxy1.check_output("docker exec nginx nginx -c /etc/nginx/djangoops/nginx.conf -s reload")
    # The role's own check waits until the reloaded workers serve what is on disk.
    proxy1.check_output(f"python3 /usr/local/lib/djangoops/djangoops_served_certificate.py --server-name {lab.domain}"
                        f" --certificate /etc/letsencrypt/live/{lab.domain}/fullchain.pem")
    staged = client.curl(f"https://{lab.domain}/polls/", "-o", "/dev/null", "-w", "%{ssl_verify_result}",
                         ca="pebble-staging-root.pem")
    assert staged.stdout == "0", "the staging certificate should be served now: " + staged.stdout + staged.stderr

    run = run_playbook("playbooks/site.yml", *PROXIES_ONLY, "-v")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "issued by a staging CA" in run.stdout
    issued = issued_serials("production")
    for address in lab.proxy_addresses:
        assert same_serial(client.served_serial(address), issued[-1]), address
    renewal_conf = proxy1.file(f"/etc/letsencrypt/renewal/{lab.domain}.conf").content_string
    assert f"server = https://{lab.all_vars['lab_pebble_production_address']}:14000/dir" in renewal_conf


def _challenge_updates(lab) -> list[str]:
    """The RFC 2136 updates the CAs' DNS server (BIND) logged for the site's challenge record."""
    out = subprocess.run(["docker", "logs", f"{lab.all_vars['lab_prefix']}-acme-dns"], check=True, capture_output=True, text=True)
    return [line for line in (out.stdout + out.stderr).splitlines()
            if f"_acme-challenge.{lab.domain}" in line and "updating zone" in line]


@pytest.mark.changes_lab
def test_a_wildcard_certificate_over_dns_01_is_served_by_every_proxy_staging_first(client, lab):
    """DNS-01 through the CAs' DNS server (BIND 9, RFC 2136 updates signed with a key that may change the challenge
    record only): the preflight publishes and sees a record, then a certificate for the site's name and every name
    under it comes from staging first, then production, and both proxies serve it; the other proxy's own renewal
    job renews it over DNS-01 too (it needs nothing on port 80). A wrong key or an unknown name stops in the
    preflight's module with the fix named."""
    wildcard = f"*.{lab.domain}"
    sub = f"www.{lab.domain}"
    name = "polls-wildcard"
    chosen = ("-e", "certbot_challenge=dns-rfc2136", "-e", f"site_certificate_name={name}",
              "-e", json.dumps({"site_server_names": [lab.domain, wildcard]}))
    for proxy in lab.proxies:  # a first order each time the check runs
        server(proxy).check_output(f"rm -rf /etc/letsencrypt*/live/{name} /etc/letsencrypt*/archive/{name} /etc/letsencrypt*/renewal/{name}.conf")
    before = {stage: len(issued_serials(stage)) for stage in ("staging", "production")}
    validations = {stage: len(_orders(stage, lab.domain)) for stage in ("staging", "production")}
    updates = len(_challenge_updates(lab))
    try:
        run = run_playbook("playbooks/site.yml", *PROXIES_ONLY, *chosen)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Add a TXT record at each challenge name by RFC 2136" in run.stdout, run.stdout

        # One order from each CA, staging validated first; the records came from the issuer, signed with the site's key.
        assert {stage: len(issued_serials(stage)) - before[stage] for stage in before} == {"staging": 1, "production": 1}
        staging, production = (_orders(stage, lab.domain)[validations[stage]:] for stage in ("staging", "production"))
        assert staging and production and staging[0] < production[0], (staging, production)
        logged = _challenge_updates(lab)[updates:]
        issuer = lab.proxies["proxy1"]["ansible_host"]
        assert any(f" {issuer}#" in line and f"/key {lab.all_vars['lab_tsig_certbot_name'].rstrip('.')}:" in line
                   and "adding an RR" in line for line in logged), logged

        issued = issued_serials("production")[-1]
        for address in lab.proxy_addresses:
            for host in (lab.domain, sub):
                verified = client.run(
                    f"curl -sS -o /dev/null -w '%{{ssl_verify_result}}' --max-time 10 --cacert /lab/pki/pebble-production-root.pem"
                    f" --resolve {host}:443:{address} https://{host}/")
                assert verified.stdout == "0", (address, host, verified.stdout, verified.stderr)
            served = client.run(f"echo | openssl s_client -connect {address}:443 -servername {sub} 2>/dev/null"
                                " | openssl x509 -noout -serial -ext subjectAltName").stdout
            # Both spellings without leading zeros: a serial may begin with one or more (one in sixteen does).
            serial = re.search(r"^serial=([0-9A-F]+)$", served, re.M)
            assert serial and same_serial(serial.group(1), issued) and f"DNS:{wildcard}" in served, (address, issued, served)

        # proxy2 is not the issuer and is never asked over HTTP here: its job renews over DNS-01 by itself.
        renewed = server("proxy2").run("/usr/local/sbin/djangoops-certbot-renew --force-renewal")
        assert renewed.rc == 0, renewed.stdout + renewed.stderr
        assert len(issued_serials("production")) == before["production"] + 2
        assert same_serial(client.served_serial(lab.proxies["proxy2"]["ansible_host"]), issued_serials("production")[-1])
        assert any(f" {lab.proxies['proxy2']['ansible_host']}#" in line for line in _challenge_updates(lab)[updates:])
        credentials = server("proxy2").file("/etc/djangoops/certbot-rfc2136.ini")
        assert (credentials.user, credentials.mode) == ("root", 0o600)
    finally:
        restored = run_playbook("playbooks/site.yml", *PROXIES_ONLY)
        assert restored.returncode == 0, restored.stdout + restored.stderr
    # Back on HTTP-01: the key is gone from the proxies.
    assert not server("proxy2").file("/etc/djangoops/certbot-rfc2136.ini").exists

    def preflight(**overrides: t.Any) -> dict:
        """The module's result, run on the controller as the role runs it."""
        args = {"domains": [lab.domain, wildcard], "server": lab.all_vars["lab_acme_dns_address"],
                "key_name": lab.all_vars["lab_tsig_certbot_name"],
                "key_secret": base64.b64encode(lab.secret("tsig_certbot").encode()).decode(),
                "key_algorithm": lab.all_vars["lab_tsig_algorithm"].upper(),
                "nameservers": [lab.all_vars["lab_acme_dns_address"]], "wait": 5, **overrides}
        env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                   ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
        done = subprocess.run(["ansible", "localhost", "-m", "djangoops.fleet.acme_dns_preflight",
                               "-a", json.dumps(args)], cwd=PROJECT, env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert lab.secret("tsig_certbot") not in done.stdout + done.stderr
        assert args["key_secret"] not in done.stdout + done.stderr
        return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]

    passed = preflight()
    assert [(name["zone"], name["removed"]) for name in passed["names"]] == [("djangoops.test.", True)], passed
    wrong_key = preflight(key_secret=base64.b64encode(b"not the key").decode())
    assert wrong_key.get("failed") and "rejected the TSIG signature of key certbot-lab." in wrong_key["msg"], wrong_key
    other = preflight(domains=[f"www.{lab.all_vars['lab_public_zone']}"])
    assert other.get("failed") and "refused the update of _acme-challenge.www.djangoops.test. TXT (REFUSED)" in other["msg"], other
