"""Release tasks ran once: checked in PostgreSQL itself."""

from __future__ import annotations

import testinfra


def _psql(sql: str) -> str:
    postgres = testinfra.get_host("docker://djangoops-lab-postgres")
    return postgres.check_output("su postgres -c %s", f"psql -d polls -tAc \"{sql}\"")


def test_migrations_were_applied_once_each():
    duplicates = _psql("SELECT app, name FROM django_migrations GROUP BY app, name HAVING count(*) > 1")
    assert duplicates == ""
    assert _psql("SELECT count(*) FROM django_migrations WHERE app = 'polls'") == "1"


def test_migrations_ran_in_a_single_batch():
    # One migrate run applies everything within seconds; a second racing run would spread them out.
    spread = _psql("SELECT extract(epoch FROM max(applied) - min(applied)) FROM django_migrations")
    assert float(spread) < 30


def test_admin_user_exists_once_with_a_django_pbkdf2_hash():
    row = _psql("SELECT count(*), min(split_part(password, '$', 1)) FROM auth_user WHERE username = 'admin'")
    assert row == "1|pbkdf2_sha256"
