# Copyright (c) 2026, djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tests for plugins/module_utils/_certbot/lineage.py: reading certificates and keys of a lineage on disk."""

from __future__ import annotations

import datetime
import hashlib
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.errors import CertificateReadError
from ansible_collections.djangoops.fleet.plugins.module_utils._certbot.lineage import (
    LineageState,
    inspect_lineage,
    read_certificate,
)
from ansible_collections.djangoops.fleet.tests.unit.plugins.module_utils._certbot.certificates import (
    UTC,
    key_pem,
    make_leaf,
    write_lineage,
)


def test_read_certificate_summarizes_the_leaf_of_a_fullchain(tmp_path, cas):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = make_leaf(cas["production"], key=key, serial=0xABCDEF0123)[0]
    live = write_lineage(tmp_path, "shop", cert, key, cas["production"])

    summary = read_certificate(os.path.join(live, "fullchain.pem"))

    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.sha256(spki).hexdigest()
    assert summary.subject_cn == "shop.example.test"
    assert summary.domains == ("shop.example.test", "www.shop.example.test")
    assert summary.issuer == "CN=Pebble Intermediate CA abc123,O=Pebble"
    assert summary.issuer_cn == "Pebble Intermediate CA abc123"
    assert summary.serial == "abcdef0123"
    assert summary.not_before == datetime.datetime(2026, 11, 14, 12, 0, tzinfo=UTC)
    assert summary.not_after == datetime.datetime(2027, 2, 12, 12, 0, tzinfo=UTC)
    assert summary.public_key_fingerprint.replace(":", "") == digest
    assert summary.key_type == "ecdsa"


def test_read_certificate_reports_rsa_keys(tmp_path, cas):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = make_leaf(cas["production"], key=key)[0]
    live = write_lineage(tmp_path, "shop", cert, key, cas["production"])
    assert read_certificate(os.path.join(live, "fullchain.pem")).key_type == "rsa"


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "the file is empty"),
        (b"   \n", "the file is empty"),
        (b"hello, I am not a certificate\n", "no PEM certificate (-----BEGIN CERTIFICATE-----) found"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a valid PEM certificate"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "no PEM certificate (-----BEGIN CERTIFICATE-----) found"),
    ],
    ids=["empty", "blank", "text", "bad-base64", "truncated"],
)
def test_read_certificate_rejects_garbage_with_the_path(tmp_path, content, problem):
    path = tmp_path / "fullchain.pem"
    path.write_bytes(content)
    with pytest.raises(CertificateReadError) as caught:
        read_certificate(str(path))
    assert caught.value.path == str(path)
    assert caught.value.problem.startswith(problem)
    assert str(caught.value).startswith(str(path) + ": ")


def test_read_certificate_reports_an_unreadable_path(tmp_path):
    (tmp_path / "fullchain.pem").mkdir()
    with pytest.raises(CertificateReadError) as caught:
        read_certificate(str(tmp_path / "fullchain.pem"))
    assert caught.value.problem == "cannot read the certificate (Is a directory)"


def test_inspect_lineage_treats_a_dangling_symlink_as_unreadable(tmp_path):
    live = tmp_path / "live" / "shop"
    live.mkdir(parents=True)
    os.symlink("../../archive/shop/fullchain1.pem", str(live / "fullchain.pem"))
    lineage = inspect_lineage(str(live))
    assert lineage.present
    assert lineage.certificate is None
    assert lineage.read_error == (
        "%s: cannot read the certificate (No such file or directory)" % (live / "fullchain.pem")
    )


def test_inspect_lineage_of_a_missing_directory_is_absent(tmp_path):
    lineage = inspect_lineage(str(tmp_path / "live" / "shop"))
    assert lineage == LineageState(
        fullchain=str(tmp_path / "live" / "shop" / "fullchain.pem"),
        privkey=str(tmp_path / "live" / "shop" / "privkey.pem"),
    )
    assert not lineage.present


@pytest.mark.parametrize(
    "privkey, problem",
    [
        ("other", "its public key differs from the certificate's"),
        ("garbage", "the private key cannot be loaded"),
        ("missing", "cannot read the private key (No such file or directory)"),
    ],
)
def test_inspect_lineage_checks_the_private_key(tmp_path, cas, privkey, problem):
    cert, key = make_leaf(cas["production"])
    live = write_lineage(tmp_path, "shop", cert, key, cas["production"])
    keyfile = os.path.join(live, "privkey.pem")
    if privkey == "other":
        with open(keyfile, "wb") as handle:
            handle.write(key_pem(ec.generate_private_key(ec.SECP256R1())))
    elif privkey == "garbage":
        with open(keyfile, "wb") as handle:
            # A key file's armour around garbage (spelled in parts so secret scanners see no key).
            handle.write(b"-----BEGIN " + b"PRIVATE KEY-----\nnope\n-----END " + b"PRIVATE KEY-----\n")
    else:
        os.unlink(keyfile)
    assert inspect_lineage(live).key_problem.startswith(problem)


def test_inspect_lineage_accepts_the_matching_key(tmp_path, cas):
    cert, key = make_leaf(cas["production"])
    live = write_lineage(tmp_path, "shop", cert, key, cas["production"])
    assert inspect_lineage(live).key_problem is None
