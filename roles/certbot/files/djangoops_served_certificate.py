# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check that Nginx serves the certificate on disk (after a reload, workers switch within seconds).

Standard library only, so it runs on any proxy: connects with the certificate's name (SNI), takes
the leaf certificate the server presents and compares it with the first certificate of the file.
Exit 0 and print the serial when they match; exit 1 with both serials when they do not in time.
"""

from __future__ import annotations

import argparse
import socket
import ssl
import sys
import time


def _der_length(data: bytes, offset: int) -> tuple[int, int]:
    """Length of the DER element whose length octets start at offset, and where its content starts."""
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    return int.from_bytes(data[offset + 1:offset + 1 + count], "big"), offset + 1 + count


def serial_number(der: bytes) -> str:
    """Certificate.tbsCertificate.serialNumber, in hex as openssl prints it."""
    tbs = _der_length(der, 1)[1]  # Certificate SEQUENCE -> tbsCertificate
    field = _der_length(der, tbs + 1)[1]  # tbsCertificate SEQUENCE -> its first field
    if der[field] == 0xA0:  # [0] version, present on v3 certificates
        length, content = _der_length(der, field + 1)
        field = content + length
    if der[field] != 0x02:
        raise ValueError("no serial number where the certificate should have one")
    length, content = _der_length(der, field + 1)
    return der[content:content + length].hex().upper().lstrip("0") or "0"


def certificate_on_disk(path: str) -> bytes:
    with open(path, encoding="ascii") as handle:
        pem = handle.read()
    end = "-----END CERTIFICATE-----"
    if end not in pem:
        raise ValueError("%s holds no PEM certificate" % path)
    return ssl.PEM_cert_to_DER_cert(pem[:pem.index(end) + len(end)])


def served_certificate(address: str, port: int, server_name: str, timeout: float) -> bytes:
    context = ssl.create_default_context()
    # Only the certificate's identity matters here; trust is the client's business.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    if not der:
        raise ValueError("the server presented no certificate")
    return der


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--server-name", required=True)
    parser.add_argument("--certificate", required=True, help="fullchain.pem or cert.pem on disk")
    parser.add_argument("--wait", type=float, default=15.0, help="seconds to wait for the reload")
    args = parser.parse_args(argv)

    expected = certificate_on_disk(args.certificate)
    deadline = time.monotonic() + args.wait
    while True:
        try:
            served = served_certificate(args.address, args.port, args.server_name, timeout=5)
            problem = None if served == expected else "serves serial %s" % serial_number(served)
        except (OSError, ValueError) as error:
            problem = "did not present a certificate (%s)" % error
        if problem is None:
            print("%s:%d serves serial %s for %s, the certificate on disk"
                  % (args.address, args.port, serial_number(expected), args.server_name))
            return 0
        if time.monotonic() >= deadline:
            print("%s:%d %s for %s, but %s holds serial %s"
                  % (args.address, args.port, problem, args.server_name, args.certificate, serial_number(expected)),
                  file=sys.stderr)
            return 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
