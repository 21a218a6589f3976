# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What Certbot (current and 1.x) and Docker print when a certificate request fails, for the _certbot tests."""

from __future__ import annotations


CERTBOT_DNS = (
    "Saving debug log to /var/log/letsencrypt/letsencrypt.log\n"
    "Requesting a certificate for shop.example.test and www.shop.example.test\n"
    "\n"
    "Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority "
    "reported these problems:\n"
    "  Domain: www.shop.example.test\n"
    "  Type:   dns\n"
    "  Detail: DNS problem: NXDOMAIN looking up A for www.shop.example.test - check that a DNS record "
    "exists for this domain; DNS problem: NXDOMAIN looking up AAAA for www.shop.example.test - check "
    "that a DNS record exists for this domain\n"
    "\n"
    "Hint: The Certificate Authority failed to download the temporary challenge files created by "
    "Certbot. Ensure that the listed domains serve their content from the provided --webroot-path/-w and "
    "that files created there can be downloaded from the internet.\n"
    "\n"
    "Some challenges have failed.\n"
    "Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile "
    "/var/log/letsencrypt/letsencrypt.log or re-run Certbot with -v for more details.\n"
)

CERTBOT_REFUSED = (
    "Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority "
    "reported these problems:\n"
    "  Domain: shop.example.test\n"
    "  Type:   connection\n"
    "  Detail: 198.51.100.7: Fetching http://shop.example.test/.well-known/acme-challenge/x4Yq1dE0: "
    "Connection refused\n"
    "\n"
    "  Domain: www.shop.example.test\n"
    "  Type:   connection\n"
    "  Detail: 198.51.100.7: Fetching http://www.shop.example.test/.well-known/acme-challenge/pQ9sLw: "
    "Timeout during connect (likely firewall problem)\n"
    "\n"
    "Some challenges have failed.\n"
)

CERTBOT_404 = (
    "Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority "
    "reported these problems:\n"
    "  Domain: shop.example.test\n"
    "  Type:   unauthorized\n"
    "  Detail: 198.51.100.7: Invalid response from "
    "http://shop.example.test/.well-known/acme-challenge/x4Yq1dE0: 404\n"
    "\n"
    "Hint: The Certificate Authority failed to download the temporary challenge files created by Certbot.\n"
)

CERTBOT_403 = """\
  Domain: shop.example.test
  Type:   unauthorized
  Detail: 198.51.100.7: Invalid response from http://shop.example.test/.well-known/acme-challenge/x4Yq1dE0: 403
"""

CERTBOT_OLD_FORMAT = """\
IMPORTANT NOTES:
 - The following errors were reported by the server:

   Domain: shop.example.test
   Type:   unauthorized
   Detail: Invalid response from
   http://shop.example.test/.well-known/acme-challenge/abc [198.51.100.7]: 404
"""

CERTBOT_RATE_LIMIT = (
    "Saving debug log to /var/log/letsencrypt/letsencrypt.log\n"
    "Requesting a certificate for shop.example.test\n"
    "An unexpected error occurred:\n"
    "Error creating new order :: too many certificates (5) already issued for this exact set of "
    "identifiers in the last 168h0m0s, retry after 2026-11-26 18:18:07 UTC: see "
    "https://letsencrypt.org/docs/rate-limits/#new-certificates-per-exact-set-of-identifiers\n"
    "Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile "
    "/var/log/letsencrypt/letsencrypt.log or re-run Certbot with -v for more details.\n"
)

CERTBOT_RATE_LIMIT_URN = (
    "An unexpected error occurred:\n"
    "urn:ietf:params:acme:error:rateLimited :: too many failed authorizations (5) for "
    "\"shop.example.test\" in the last 1h0m0s, retry after 2026-11-24T13:05:00Z: see "
    "https://letsencrypt.org/docs/rate-limits/#authorization-failures-per-hostname-per-account\n"
)

CERTBOT_TLS = (
    "Saving debug log to /var/log/letsencrypt/letsencrypt.log\n"
    "An unexpected error occurred:\n"
    "requests.exceptions.SSLError: HTTPSConnectionPool(host='10.20.0.2', port=14000): Max retries "
    "exceeded with url: /dir (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
    "CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate "
    "(_ssl.c:1006)')))\n"
    "Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile "
    "/var/log/letsencrypt/letsencrypt.log or re-run Certbot with -v for more details.\n"
)

CERTBOT_URN_DNS = (
    "An unexpected error occurred:\n"
    "urn:ietf:params:acme:error:dns :: DNS problem: SERVFAIL looking up CAA for shop.example.test - the "
    "domain's nameservers may be malfunctioning\n"
)

DOCKER_DOWN = (
    "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"
    "See 'docker run --help'.\n"
)

DOCKER_NAME_CONFLICT = (
    'docker: Error response from daemon: Conflict. The container name "/certbot-shop.example.test-staging" is'
    ' already in use by container "3f1e". You have to remove (or rename) that container to be able to reuse'
    " that name.\n"
)
