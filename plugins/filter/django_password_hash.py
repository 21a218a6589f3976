# Copyright: djangoops.fleet developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter django_password_hash: hash a password on the controller in Django's own format."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

try:
    from passlib.hash import django_pbkdf2_sha256
except ImportError:  # pragma: no cover - exercised only without passlib
    django_pbkdf2_sha256 = None

# Django 5.2's PBKDF2PasswordHasher default; Django re-hashes on login when its default grows.
DJANGO_PBKDF2_ITERATIONS = 1_000_000


def django_password_hash(password: str, rounds: int = DJANGO_PBKDF2_ITERATIONS) -> str:
    """Return ``pbkdf2_sha256$<rounds>$<salt>$<hash>``, the value Django stores in auth_user.password."""
    if django_pbkdf2_sha256 is None:
        raise AnsibleFilterError("django_password_hash needs passlib on the controller: pip install passlib")
    if not isinstance(password, str) or not password:
        raise AnsibleFilterError("django_password_hash: the password must be a non-empty string")
    return to_text(django_pbkdf2_sha256.using(rounds=rounds).hash(password))


class FilterModule:
    """Ansible filter plugin entry point."""

    def filters(self) -> dict:
        return {"django_password_hash": django_password_hash}
