"""Parsing of the environment variables that configure the site."""

import os

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = frozenset({"true", "1", "yes", "on"})

BACKENDS_PREFIX = "django.db.backends."

# Engine names older Django releases accepted; the tutorial's env file still
# uses postgresql_psycopg2, which Django 3.0 removed.
LEGACY_ENGINES = {"postgresql_psycopg2": "postgresql"}


def parse_bool(value: str | None) -> bool:
    """True only for true/1/yes/on (any case); anything else, "False" included, is False."""
    return value is not None and value.strip().lower() in TRUE_VALUES


def parse_list(value: str | None) -> list[str]:
    """Split a comma separated value, dropping blanks."""
    if not value:
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


def database_engine(value: str) -> str:
    """Map a bare or legacy engine name to Django's backend module path.

    "postgresql_psycopg2" and "postgresql" give django.db.backends.postgresql,
    "sqlite3" gives django.db.backends.sqlite3; a dotted path outside
    django.db.backends (a third-party backend) is kept as it is.
    """
    value = value.strip()
    name = value.removeprefix(BACKENDS_PREFIX)
    if not name:
        raise ImproperlyConfigured("DATABASE_ENGINE is empty.")
    if "." in name:
        return value
    return BACKENDS_PREFIX + LEGACY_ENGINES.get(name, name)


def require(name: str) -> str:
    """The value of environment variable `name`; unset or empty is an error."""
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} must be set.")
    return value


def optional(name: str) -> str | None:
    """The value of environment variable `name`, or None when unset or empty."""
    return os.environ.get(name) or None
