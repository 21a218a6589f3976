# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""When a certificate is due: ARI identifiers and windows, the lifetime rule, standby proxies."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.renewal import (
    SOURCE_ARI,
    SOURCE_LIFETIME,
    AriAnswer,
    RenewalWindow,
    ari_certificate_id,
    ask_renewal_info,
    lifetime_renewal_time,
    parse_renewal_info,
    plan_renewal,
    window_point,
)
from ansible_collections.djangoops.fleet.tests.unit.plugins.module_utils._certbot.certificates import (
    DAY,
    NOW,
    UTC,
    make_ca,
)

HOUR = datetime.timedelta(hours=1)
MINUTE = datetime.timedelta(minutes=1)


def _leaf(serial: int, key_id: bytes | None) -> x509.Certificate:
    ca = make_ca("Pebble Intermediate CA 0a1b2c")
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + 89 * DAY)
    )
    if key_id is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(key_id, None, None), critical=False)
    return builder.sign(ca.key, hashes.SHA256())


def test_the_ari_id_is_the_key_identifier_and_the_der_serial():
    # RFC 9773 section 4.1's example: key identifier 69:88:5B:..:D4 and serial 0x87654321, whose top bit is set, so DER
    # (and the identifier) carry a leading zero byte.
    key_id = bytes.fromhex("69885b6b87464041e1b37b847ba0ae2cde01c8d4")
    assert ari_certificate_id(_leaf(0x87654321, key_id)) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
    assert ari_certificate_id(_leaf(0x7F, key_id)).endswith(".fw")
    assert ari_certificate_id(_leaf(0x80, key_id)).endswith(".AIA")


def test_a_certificate_without_a_key_identifier_cannot_be_named():
    with pytest.raises(ValueError, match="no authority key identifier"):
        ari_certificate_id(_leaf(0x1234, None))


@pytest.mark.parametrize(
    "start, end, expected_start",
    [
        ("2026-12-20T00:00:00Z", "2026-12-22T00:00:00Z", datetime.datetime(2026, 12, 20, tzinfo=UTC)),
        # Nanoseconds (Go's RFC 3339) and an offset.
        ("2026-12-20T01:00:00.123456789+01:00", "2026-12-22T00:00:00.5Z",
         datetime.datetime(2026, 12, 20, 0, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_a_renewal_info_answer_gives_its_window(start, end, expected_start):
    body = '{"suggestedWindow": {"start": "%s", "end": "%s"}, "explanationURL": "https://ca.example/why"}' % (start, end)
    window = parse_renewal_info(body.encode())
    assert window.start == expected_start
    assert window.end > window.start
    assert window.explanation_url == "https://ca.example/why"


@pytest.mark.parametrize(
    "body, problem",
    [
        (b"<html>", "not JSON"),
        (b"[]", "no suggestedWindow"),
        (b'{"suggestedWindow": {"start": "2026-12-22T00:00:00Z", "end": "2026-12-20T00:00:00Z"}}', "ends before"),
        (b'{"suggestedWindow": {"start": "2026-12-20T00:00:00", "end": "2026-12-22T00:00:00Z"}}', "no time zone"),
        (b'{"suggestedWindow": {"start": "soon", "end": "2026-12-22T00:00:00Z"}}', "not an RFC 3339"),
        (b'{"suggestedWindow": {"start": 1, "end": "2026-12-22T00:00:00Z"}}', "not a timestamp"),
    ],
)
def test_an_unusable_renewal_info_answer_is_refused(body, problem):
    with pytest.raises(ValueError, match=problem):
        parse_renewal_info(body)


def test_asking_for_renewal_info_never_raises():
    window = b'{"suggestedWindow": {"start": "2026-12-20T00:00:00Z", "end": "2026-12-22T00:00:00Z"}}'
    asked = []

    def fetch(url):
        asked.append(url)
        return 200, {}, window

    directory = {"renewalInfo": "https://ca.example/renewal-info/"}
    assert ask_renewal_info(directory, "a.b", fetch).window.start == datetime.datetime(2026, 12, 20, tzinfo=UTC)
    assert asked == ["https://ca.example/renewal-info/a.b"]
    assert ask_renewal_info({}, "a.b", fetch) == AriAnswer(None, "the CA offers no ARI")
    assert ask_renewal_info(directory, "a.b", lambda url: (404, {}, b"")) == AriAnswer(None, "ARI answered HTTP 404")

    def unreachable(url):
        raise OSError("connection refused")

    assert ask_renewal_info(directory, "a.b", unreachable).note == "ARI request failed (connection refused)"
    assert ask_renewal_info(directory, "a.b", lambda url: (200, {}, b"{}")).note.startswith("ARI answer unusable")


@pytest.mark.parametrize(
    "lifetime, left",
    [
        (90 * DAY, 30 * DAY),  # a third left
        (45 * DAY, 15 * DAY),
        (10 * DAY, 10 * DAY / 3),
        (6 * DAY, 3 * DAY),  # short-lived: half left
        (160 * HOUR, 80 * HOUR),  # Let's Encrypt's shortlived profile
        (10 * MINUTE, 5 * MINUTE),  # the lab's
    ],
)
def test_the_lifetime_rule_leaves_a_third_or_half_for_short_lived_certificates(lifetime, left):
    assert lifetime_renewal_time(NOW, NOW + lifetime) == NOW + lifetime - left


def test_the_point_in_a_window_is_fixed_by_the_certificate_and_spread_by_it():
    window = RenewalWindow(NOW, NOW + 2 * DAY)
    points = {window_point(window, "id-%d" % n) for n in range(200)}
    assert all(window.start <= point < window.end for point in points)
    assert window_point(window, "id-7") == window_point(window, "id-7")
    # Spread: both halves of the window are used.
    assert any(point < NOW + DAY for point in points) and any(point >= NOW + DAY for point in points)


def _plan(window: RenewalWindow | None, lifetime=90 * DAY, **kwargs):
    ari = AriAnswer(window, "ARI window" if window else "the CA offers no ARI")
    return plan_renewal(NOW - DAY, NOW - DAY + lifetime, certificate_id="id-1", ari=ari, **kwargs)


def test_a_usable_ari_window_decides():
    window = RenewalWindow(NOW + 50 * DAY, NOW + 52 * DAY, "https://ca.example/incident")
    plan = _plan(window)
    assert plan.source == SOURCE_ARI
    assert plan.renew_at == window_point(window, "id-1")
    assert not plan.due(NOW)
    assert "the CA explains: https://ca.example/incident" in plan.note


def test_a_window_already_over_renews_now():
    plan = _plan(RenewalWindow(NOW - 2 * HOUR, NOW - HOUR))
    assert plan.source == SOURCE_ARI and plan.due(NOW)


def test_a_window_ending_after_expiry_or_no_window_leaves_the_lifetime_rule():
    # Pebble 2.6 on a 10-minute certificate: 2/3 of the lifetime +/- 24 hours.
    plan = _plan(RenewalWindow(NOW - DAY, NOW + DAY), lifetime=10 * MINUTE)
    assert plan.source == SOURCE_LIFETIME
    assert plan.renew_at == NOW - DAY + 5 * MINUTE
    assert plan.note == "the ARI window ends after the certificate expires; by the certificate's lifetime"
    plan = _plan(None)
    assert (plan.source, plan.renew_at) == (SOURCE_LIFETIME, NOW + 59 * DAY)
    assert plan.note == "the CA offers no ARI; by the certificate's lifetime"
    assert _plan(None, lifetime_at=NOW + 70 * DAY).renew_at == NOW + 70 * DAY


def test_standby_proxies_wait_in_turn_and_all_before_expiry():
    expiry = NOW - DAY + 90 * DAY
    first = _plan(None, ranks=3)
    second = _plan(None, rank=1, ranks=3)
    third = _plan(None, rank=2, ranks=3)
    assert first.renew_at == NOW + 59 * DAY
    assert second.renew_at == NOW + 59 * DAY + (expiry - first.renew_at) / 3
    assert third.renew_at == NOW + 59 * DAY + (expiry - first.renew_at) * 2 / 3
    assert third.renew_at < expiry
    assert second.note.endswith("standby 1 of 2")
    # The lab's 10-minute certificates with two proxies: the first at 5 minutes, the standby at 7.5.
    lab = _plan(None, lifetime=10 * MINUTE, rank=1, ranks=2)
    assert lab.renew_at == NOW - DAY + 7.5 * MINUTE
