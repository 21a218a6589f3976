"""Release tasks ran once: checked in PostgreSQL itself."""

from __future__ import annotations

import pytest

from conftest import psql


pytestmark = pytest.mark.readonly


def test_migrations_were_applied_once_each():
    duplicates = psql("SELECT app, name FROM django_migrations GROUP BY app, name HAVING count(*) > 1")
    assert duplicates == ""
    assert psql("SELECT count(*) FROM django_migrations WHERE app = 'polls'") == "1"


def test_migrations_ran_in_a_single_batch():
    # One migrate run applies everything within seconds; a second racing run would spread them out.
    spread = psql("SELECT extract(epoch FROM max(applied) - min(applied)) FROM django_migrations")
    assert float(spread) < 30


def test_admin_user_exists_once_with_a_django_pbkdf2_hash():
    row = psql("SELECT count(*), min(split_part(password, '$', 1)) FROM auth_user WHERE username = 'admin'")
    assert row == "1|pbkdf2_sha256"
