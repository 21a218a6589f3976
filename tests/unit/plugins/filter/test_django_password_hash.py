# Copyright (c) djangoops.fleet developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""django_password_hash: the value Django stores in auth_user.password.

Each hash is checked by recomputing it the way Django's PBKDF2PasswordHasher does
(``hashlib.pbkdf2_hmac`` over the UTF-8 password and the salt, base64 encoded), not with passlib,
which the filter itself uses.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.fleet.plugins.filter.django_password_hash import (
    FilterModule,
    django_password_hash,
)

# Django's hasher: algorithm$iterations$salt$base64(hash); salts from get_random_string are
# alphanumeric, the hash is 32 bytes of SHA-256 (44 base64 characters).
FORMAT = re.compile(r"^pbkdf2_sha256\$(?P<rounds>[0-9]+)\$(?P<salt>[A-Za-z0-9]+)\$(?P<hash>[A-Za-z0-9+/]{43}=)$")


def django_verify(password: str, encoded: str) -> bool:
    """Django's PBKDF2PasswordHasher.verify, written out."""
    match = FORMAT.match(encoded)
    assert match, "not Django's pbkdf2_sha256 format: %r" % encoded
    derived = hashlib.pbkdf2_hmac(
        "sha256", password.encode("utf-8"), match["salt"].encode("utf-8"), int(match["rounds"]))
    return base64.b64encode(derived).decode("ascii") == match["hash"]


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", "p", "pässwörd-✓", "with $ and spaces "],
    ids=["ascii", "one-char", "non-ascii", "dollar-and-space"],
)
def test_hash_verifies_like_django(password: str) -> None:
    encoded = django_password_hash(password, 1000)

    match = FORMAT.match(encoded)
    assert match, encoded
    assert match["rounds"] == "1000"
    assert len(match["salt"]) >= 12
    assert django_verify(password, encoded)
    assert not django_verify(password + "x", encoded)


def test_hash_depends_on_the_salt() -> None:
    # With another salt the same digest must not verify: the recomputation above really uses the
    # salt the filter wrote into the string.
    encoded = django_password_hash("s3cret-pw", 1000)
    algorithm, rounds, salt, digest = encoded.split("$")
    other_salt = "A" * len(salt) if salt != "A" * len(salt) else "B" * len(salt)
    assert not django_verify("s3cret-pw", "$".join([algorithm, rounds, other_salt, digest]))


def test_default_rounds_are_djangos() -> None:
    encoded = django_password_hash("correct horse battery staple")

    assert encoded.split("$")[1] == "1000000"
    assert django_verify("correct horse battery staple", encoded)


def test_same_password_hashes_differently() -> None:
    first = django_password_hash("same password", 1000)
    second = django_password_hash("same password", 1000)

    assert first != second
    assert first.split("$")[2] != second.split("$")[2]
    assert django_verify("same password", first) and django_verify("same password", second)


@pytest.mark.parametrize(
    "value", ["", None, 12345, b"bytes-password", ["list"]], ids=["empty", "none", "int", "bytes", "list"],
)
def test_rejects_what_is_not_a_nonempty_string(value: object) -> None:
    with pytest.raises(AnsibleFilterError, match="non-empty string"):
        django_password_hash(value)  # type: ignore[arg-type]


def test_filter_is_registered_under_its_name() -> None:
    assert FilterModule().filters() == {"django_password_hash": django_password_hash}
