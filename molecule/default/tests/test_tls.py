"""The proxy's TLS, probed from the lab client: protocols, ciphers, and testssl.sh's verdict."""

from __future__ import annotations

import json
import re

import pytest


pytestmark = pytest.mark.readonly

# Mozilla "intermediate": ECDHE key exchange with AEAD ciphers only (TLS 1.3 suites are all AEAD).
WEAK = re.compile(r"CBC|RC4|3DES|DES-|NULL|EXPORT|anon|MD5|SHA1?$|^AES|^CAMELLIA|^ARIA|PSK|SEED|IDEA|^DHE", re.I)


@pytest.mark.parametrize("protocol", ["-tls1", "-tls1_1"])
def test_old_tls_versions_are_refused(client, lab, protocol):
    # SECLEVEL=0 lets this OpenSSL client offer the old protocols at all; the server must refuse.
    result = client.run(
        f"echo | openssl s_client -connect {lab.proxy_public}:443 -servername {lab.domain} {protocol}"
        " -cipher DEFAULT@SECLEVEL=0 2>&1"
    )
    assert result.rc != 0
    assert "Cipher is (NONE)" in result.stdout or "alert" in result.stdout, result.stdout


@pytest.mark.parametrize("protocol", ["-tls1_2", "-tls1_3"])
def test_current_tls_versions_are_served(client, lab, protocol):
    result = client.run(f"echo | openssl s_client -connect {lab.proxy_public}:443 -servername {lab.domain} {protocol} 2>&1")
    assert result.rc == 0, result.stdout
    assert re.search(r"Cipher is (TLS_|ECDHE-)", result.stdout), result.stdout


def test_no_weak_cipher_is_offered(client, lab):
    result = client.run(f"nmap -Pn -p 443 --script ssl-enum-ciphers --script-args tls.servername={lab.domain} {lab.proxy_public}")
    assert result.rc == 0, result.stderr
    offered = re.findall(r"\|\s+(TLS_\w+|[A-Z0-9-]+-[A-Z0-9-]+)\s+\(", result.stdout)
    assert offered, result.stdout
    weak = [cipher for cipher in offered if WEAK.search(cipher.replace("TLS_", "", 1) if cipher.startswith("TLS_ECDHE") else cipher)
            and not cipher.startswith(("TLS_AES_", "TLS_CHACHA20_"))]
    assert weak == [], weak
    assert "least strength: A" in result.stdout, result.stdout
    assert "TLSv1.0" not in result.stdout and "TLSv1.1" not in result.stdout


# Properties of the lab's stand-ins, not of the proxy's configuration: Pebble issues 5-year
# certificates without CRL or OCSP URLs (Let's Encrypt: 90 days, with a CRL URL), and the lab's
# DNS has no CAA record. Each is still reported, so a finding anywhere else fails the test.
NOT_THE_PROXYS = {"cert_validityPeriod", "cert_revocation", "DNS_CAArecord"}


def test_testssl_reports_no_finding(client, lab):
    """testssl.sh (Debian's package) against the proxy: nothing rated LOW or worse.

    The lab's CA is passed in, as a browser of a real site would already trust Let's Encrypt.
    """
    report = "/tmp/testssl.json"
    client.run(f"rm -f {report}")
    scan = client.run(
        f"testssl --quiet --color 0 --warnings off --sneaky --ip {lab.proxy_public}"
        " --add-ca /lab/pki/pebble-production-root.pem"
        f" --jsonfile {report} --protocols --std --server-defaults --headers --vulnerabilities"
        f" --server-preference {lab.domain}:443"
    )
    report_text = client.run(f"cat {report}").stdout
    assert report_text, scan.stdout + scan.stderr
    findings = json.loads(report_text)
    assert not [f for f in findings if f.get("severity") == "FATAL"], report_text
    bad = [f"{f['id']} ({f['severity']}): {f['finding']}" for f in findings
           if f.get("severity") in {"LOW", "MEDIUM", "HIGH", "CRITICAL"} and f["id"] not in NOT_THE_PROXYS]
    assert bad == [], "\n".join(bad)
