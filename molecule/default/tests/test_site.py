"""Outside-in checks from the lab client on the public network, as a visitor would see the site."""

from __future__ import annotations

import re
import shlex

import pytest


pytestmark = pytest.mark.readonly


def test_https_serves_polls_over_http2_with_a_certificate_from_the_production_ca(client, lab):
    result = client.curl(
        f"https://{lab.domain}/polls/", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result} HTTP/%{http_version}"
    )
    assert result.rc == 0, result.stderr
    assert result.stdout == "200 0 HTTP/2"


def test_the_certificate_does_not_chain_to_the_staging_ca(client, lab):
    result = client.curl(f"https://{lab.domain}/polls/", "-o", "/dev/null", ca="pebble-staging-root.pem")
    assert result.rc == 60, f"expected curl's certificate verification failure, got {result.rc}: {result.stderr}"


def test_served_certificate_names_the_site_and_a_production_issuer(client, lab):
    command = (
        f"echo | openssl s_client -connect {lab.proxy_public}:443 -servername {lab.domain} 2>/dev/null"
        " | openssl x509 -noout -issuer -ext subjectAltName"
    )
    result = client.run(command)
    assert result.rc == 0, result.stderr
    assert f"DNS:{lab.domain}" in result.stdout
    assert "Pebble Intermediate CA" in result.stdout


def test_plain_http_is_redirected_to_https(client, lab):
    result = client.curl(f"http://{lab.domain}/polls/?q=1", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}")
    assert result.stdout == f"301 https://{lab.domain}/polls/?q=1"


def test_unknown_host_gets_no_answer(client, lab):
    result = client.run(f"curl -sS --max-time 5 -H 'Host: not-our-site.test' http://{lab.proxy_public}/")
    assert result.rc == 52, f"expected an empty reply (444), got rc={result.rc}: {result.stdout}{result.stderr}"


def test_unknown_tls_server_name_is_refused(client, lab):
    result = client.run(
        f"curl -sS --max-time 5 -k --resolve other.test:443:{lab.proxy_public} https://other.test/"
    )
    assert result.rc == 35, f"expected a refused TLS handshake, got rc={result.rc}: {result.stderr}"


def test_hsts_is_sent_for_at_least_180_days(client, lab):
    headers = client.curl(f"https://{lab.domain}/polls/", "-o", "/dev/null", "-D", "-").stdout
    match = re.search(r"(?im)^strict-transport-security:\s*max-age=(\d+)", headers)
    assert match, headers
    assert int(match.group(1)) >= 15552000


def test_every_app_server_takes_traffic(client, lab):
    loop = (
        "for i in $(seq 1 20); do "
        + shlex.join(["curl", "-sS", "-o", "/dev/null", "-D", "-", "--cacert", "/lab/pki/pebble-production-root.pem",
                      "--resolve", f"{lab.domain}:443:{lab.proxy_public}", f"https://{lab.domain}/polls/"])
        + "; done"
    )
    headers = client.run(loop).stdout
    served_by = re.findall(r"(?im)^x-served-by:\s*(\S+)", headers)
    assert len(served_by) == 20
    assert set(served_by) == set(lab.app_servers)


def test_the_app_s_health_endpoints_answer_cheaply_and_with_the_database(client, lab):
    """The example app's health endpoints, through the proxy: /healthz/ runs no query, /healthz/db/ one (the
    role's health check asks /healthz/ and requires its body in the lab)."""
    for path, body in (("/healthz/", "ok"), ("/healthz/db/", "ok database")):
        answer = client.curl(f"https://{lab.domain}{path}", "-D", "-")
        assert re.search(r"^HTTP/\S+ 200", answer.stdout, re.M) and answer.stdout.endswith("\r\n\r\n" + body + "\n"), answer.stdout
        assert re.search(r"(?im)^cache-control:.*no-cache", answer.stdout), answer.stdout


def test_admin_user_logs_in_and_admin_css_comes_from_s3(client, lab):
    site = f"https://{lab.domain}"
    jar = "/tmp/djangoops-admin-cookies"
    client.run(f"rm -f {jar}")
    login_page = client.curl(f"{site}/admin/login/", "-c", jar).stdout
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)

    css = re.search(r'href="([^"]+/admin/css/base\.css)"', login_page).group(1)
    assert css.startswith(lab.s3_endpoint + "/"), css
    # The S3 server answers over HTTPS with a certificate of the lab's own CA.
    css_response = client.run(f"curl -sS --cacert /lab/pki/lab-ca.pem -o /dev/null -w '%{{http_code}} %{{content_type}}' {shlex.quote(css)}")
    assert css_response.stdout.startswith("200 text/css"), css_response.stdout

    login = client.curl(
        f"{site}/admin/login/?next=/admin/", "-b", jar, "-c", jar, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
        "-H", f"Referer: {site}/admin/login/",
        "--data-urlencode", f"csrfmiddlewaretoken={token}",
        "--data-urlencode", "username=admin",
        "--data-urlencode", f"password={lab.secret('admin_password')}",
        "--data-urlencode", "next=/admin/",
    )
    assert login.stdout == f"302 {site}/admin/", login.stdout
    admin_index = client.curl(f"{site}/admin/", "-b", jar).stdout
    assert "Site administration" in admin_index
    assert "Questions" in admin_index
