# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The certbot role's served-certificate check against a real TLS server on the loopback.

Certificates are made here with cryptography; the server is Python's own ssl module presenting one
of them, so the check's comparison and its DER serial reader meet real handshakes and real DER.
"""

from __future__ import annotations

import datetime
import importlib.util
import pathlib
import socket
import ssl
import threading
import typing as t

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SCRIPT = pathlib.Path(__file__).resolve().parents[3] / "roles" / "certbot" / "files" / "djangoops_served_certificate.py"
NAME = "www.example.com"


def _load_check():
    spec = importlib.util.spec_from_file_location("served_certificate_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load_check()


def _certificate(tmp: pathlib.Path, label: str, serial: int) -> tuple[pathlib.Path, pathlib.Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(serial).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / ("%s.pem" % label), tmp / ("%s.key" % label)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class TlsServer:
    """A loopback TLS server presenting one certificate to every client, until closed."""

    def __init__(self, cert: pathlib.Path, key: pathlib.Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn = self.listener.accept()[0]
            except OSError:
                return
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def served(tmp_path: pathlib.Path) -> t.Iterator[tuple[TlsServer, pathlib.Path]]:
    cert, key = _certificate(tmp_path, "served", 0x15D8600ED91EFD22)
    server = TlsServer(cert, key)
    yield server, cert
    server.close()


def _run(port: int, certificate: pathlib.Path, wait: float = 0.0) -> int:
    return check.main(["--port", str(port), "--server-name", NAME, "--certificate", str(certificate), "--wait", str(wait)])


def test_the_served_certificate_matches_the_one_on_disk(served, capsys) -> None:
    server, cert = served
    assert _run(server.port, cert) == 0
    assert capsys.readouterr().out.strip() == "127.0.0.1:%d serves serial 15D8600ED91EFD22 for %s, the certificate on disk" % (server.port, NAME)


def test_a_different_served_certificate_fails_with_both_serials(served, tmp_path, capsys) -> None:
    server, _cert = served
    on_disk, _key = _certificate(tmp_path, "renewed", 0x0ABC)
    assert _run(server.port, on_disk, wait=0.6) == 1
    error = capsys.readouterr().err
    assert "serves serial 15D8600ED91EFD22 for %s, but %s holds serial ABC" % (NAME, on_disk) in error


def test_a_fullchain_is_compared_by_its_first_certificate(served, tmp_path) -> None:
    server, cert = served
    issuer, _key = _certificate(tmp_path, "issuer", 7)
    fullchain = tmp_path / "fullchain.pem"
    fullchain.write_text(cert.read_text() + issuer.read_text())
    assert _run(server.port, fullchain) == 0


def test_nothing_listening_fails_and_says_so(tmp_path, capsys) -> None:
    cert, _key = _certificate(tmp_path, "any", 1)
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    assert _run(port, cert) == 1
    assert "did not present a certificate" in capsys.readouterr().err


@pytest.mark.parametrize("serial", [1, 0x7F, 0x80, 0xFF00, 0x15D8600ED91EFD22, (1 << 159) - 1])
def test_serial_numbers_read_from_der_match_cryptography(tmp_path, serial: int) -> None:
    cert, _key = _certificate(tmp_path, "s", serial)
    der = check.certificate_on_disk(str(cert))
    assert check.serial_number(der) == "%X" % x509.load_der_x509_certificate(der).serial_number


def test_a_file_without_a_certificate_is_refused(tmp_path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ValueError, match="holds no PEM certificate"):
        check.certificate_on_disk(str(garbage))
