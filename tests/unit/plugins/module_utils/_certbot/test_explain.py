# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for plugins/module_utils/_certbot/explain.py: Certbot and Docker failures in plain words."""

from __future__ import annotations

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.explain import explain_failure
from ansible_collections.djangoops.fleet.tests.unit.plugins.module_utils._certbot.certbot_output import (
    CERTBOT_403,
    CERTBOT_404,
    CERTBOT_DNS,
    CERTBOT_OLD_FORMAT,
    CERTBOT_RATE_LIMIT,
    CERTBOT_RATE_LIMIT_URN,
    CERTBOT_REFUSED,
    CERTBOT_TLS,
    CERTBOT_URN_DNS,
    DOCKER_DOWN,
    DOCKER_NAME_CONFLICT,
)


@pytest.mark.parametrize(
    "stdout, stderr, reason",
    [
        ("", CERTBOT_DNS, "DNS for www.shop.example.test does not point here"),
        (
            "", CERTBOT_REFUSED,
            "port 80 on shop.example.test is unreachable from the CA;"
            " port 80 on www.shop.example.test is unreachable from the CA",
        ),
        ("", CERTBOT_404, "the webroot is not served at /.well-known/acme-challenge/ for shop.example.test"),
        (
            "", CERTBOT_403,
            "shop.example.test: unauthorized: 198.51.100.7: Invalid response from"
            " http://shop.example.test/.well-known/acme-challenge/x4Yq1dE0: 403",
        ),
        ("", CERTBOT_RATE_LIMIT, "rate limited; retry after 2026-11-26 18:18:07 UTC"),
        ("", CERTBOT_RATE_LIMIT_URN, "rate limited; retry after 2026-11-24T13:05:00Z"),
        ("", CERTBOT_TLS, "TLS to the ACME server failed: set ca_bundle"),
        ("", CERTBOT_URN_DNS, "DNS for shop.example.test does not point here"),
        ("", DOCKER_DOWN, "the Docker engine is not running on this host"),
        (
            "", DOCKER_NAME_CONFLICT,
            "another certbot container for this certificate is still running (docker name conflict)",
        ),
        (CERTBOT_DNS, "", "DNS for www.shop.example.test does not point here"),
    ],
    ids=["dns", "refused-and-timeout", "404", "403", "rate-limit", "rate-limit-urn", "tls", "urn-dns",
         "docker-down", "name-conflict", "on-stdout"],
)
def test_explain_failure(stdout, stderr, reason):
    explanation = explain_failure(rc=1, stdout=stdout, stderr=stderr)
    assert explanation.reason == reason
    assert explanation.tail[-1] == (stdout + stderr).strip().splitlines()[-1].rstrip()


def test_explain_failure_old_certbot_404_detail_on_the_next_line():
    # certbot 1.x wrapped the detail, so the 404 sits on an indented line of its own.
    explanation = explain_failure(rc=1, stdout="", stderr=CERTBOT_OLD_FORMAT)
    assert explanation.reason == "the webroot is not served at /.well-known/acme-challenge/ for shop.example.test"


def test_explain_failure_falls_back_to_the_last_lines():
    output = "\n".join("line %d" % i for i in range(30)) + "\n\n"
    explanation = explain_failure(rc=2, stdout=output, stderr="")
    assert explanation.reason == "certbot exited with 2: line 27 / line 28 / line 29"
    assert explanation.tail == tuple("line %d" % i for i in range(10, 30))


def test_explain_failure_without_output():
    assert explain_failure(rc=125, stdout="", stderr="").reason == "certbot exited with 125: no output"
