"""Parsing of the environment variables that configure the site.

Secrets may come as files instead (``secret``): NAME_FILE names a file holding NAME's value, as
djangoops.fleet writes them with django_app_secret_files (and Docker's and Kubernetes' secrets do),
so that the container's environment, which ``docker inspect`` shows, holds no secret."""

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


def secret(name: str) -> str | None:
    """A secret: the content of the file NAME_FILE names (one trailing newline dropped), else the
    environment variable NAME; None when neither is set or the value is empty."""
    path = os.environ.get(name + "_FILE")
    if not path:
        return optional(name)
    try:
        with open(path, encoding="utf-8") as handle:
            value = handle.read()
    except OSError as error:
        # The path and the reason, never the value.
        raise ImproperlyConfigured(f"{name}_FILE={path}: cannot read the file ({error.strerror}).") from None
    if value.endswith("\n"):
        value = value[:-1]
    if value.endswith("\r"):
        value = value[:-1]
    return value or None


def require_secret(name: str) -> str:
    """``secret(name)``; unset or empty is an error."""
    value = secret(name)
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} (or {name}_FILE, a file holding it) must be set.")
    return value
