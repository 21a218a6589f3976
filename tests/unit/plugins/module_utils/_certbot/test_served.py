# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The served certificate, read from a real TLS server on the loopback, and the expiry warning."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.served import (
    expiry_warning,
    presented_certificate,
    served_state,
)
from ansible_collections.djangoops.fleet.tests.unit.plugins.module_utils._certbot.certificates import (
    DAY,
    NOW,
    key_pem,
    make_leaf,
    pem,
)

NAME = "shop.example.test"


@pytest.fixture
def tls_server(tmp_path, cas):
    cert, key = make_leaf(cas["production"], domains=(NAME,), not_before=NOW - 30 * DAY, not_after=NOW + 60 * DAY,
                          serial=0x5E12)
    (tmp_path / "cert.pem").write_bytes(pem(cert))
    (tmp_path / "key.pem").write_bytes(key_pem(key))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:  # one handshake
        connection = listener.accept()[0]
        with context.wrap_socket(connection, server_side=True) as tls:
            tls.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], cert
    listener.close()


def test_the_presented_certificate_is_read_without_trusting_it(tls_server):
    port, cert = tls_server
    der = presented_certificate("127.0.0.1", port, NAME, timeout=5)
    state = served_state(der, NOW)
    assert state.certificate.serial == "5e12"
    assert state.view()["not_after"] == (NOW + 60 * DAY).isoformat()
    assert state.view()["domains"] == [NAME]
    assert state.lifetime_left == pytest.approx(60 / 90)


def test_nothing_listening_is_an_os_error():
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    with pytest.raises(OSError):
        presented_certificate("127.0.0.1", port, NAME, timeout=2)


@pytest.mark.parametrize(
    "days_left, expected",
    [
        (60, None),
        (18.5, None),  # a fifth of 90 days is 18 days
        (9, "127.0.0.1:443 (shop.example.test) serves a certificate (serial 5e12) that expires at {at}, in 216.0 hours: "
            "10% of its lifetime left, below 20%; it should have been renewed by now, check the renewal job there"),
        (-1, "127.0.0.1:443 (shop.example.test) serves a certificate (serial 5e12) that expired at {at}; "
             "check the renewal job there"),
    ],
)
def test_the_warning_names_the_proxy_the_expiry_and_what_to_check(cas, days_left, expected):
    cert, _key = make_leaf(cas["production"], domains=(NAME,), not_before=NOW - (90 - days_left) * DAY,
                           not_after=NOW + days_left * DAY, serial=0x5E12)
    from cryptography.hazmat.primitives import serialization

    state = served_state(cert.public_bytes(serialization.Encoding.DER), NOW)
    warning = expiry_warning(state, where="127.0.0.1:443 (shop.example.test)", warn_below=0.2, now=NOW)
    if expected is None:
        assert warning is None
    else:
        assert warning.startswith(expected.format(at=(NOW + days_left * DAY).isoformat()))
