"""Settings for the polls example, configured by environment variables.

Secrets (DJANGO_SECRET_KEY, DATABASE_PASSWORD, STATIC_SECRET_KEY, CELERY_BROKER_URL) are read from the
file NAME_FILE names when it is set, else from NAME (mysite/env.py, secret).

The variable names are those of the tutorial's env file; README.md lists them.
"""

import os
import socket
from pathlib import Path
from typing import Any

from mysite.env import database_engine, optional, parse_bool, parse_list, require, require_secret, secret

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = require_secret("DJANGO_SECRET_KEY")
DEBUG = parse_bool(os.environ.get("DEBUG"))
ALLOWED_HOSTS = parse_list(os.environ.get("DJANGO_ALLOWED_HOSTS"))
CSRF_TRUSTED_ORIGINS = parse_list(os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS"))

INSTALLED_APPS = [
    "polls.apps.PollsConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    # Outermost, so that every response carries the header, errors included.
    "polls.middleware.ServedByMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mysite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "mysite.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": database_engine(os.environ.get("DATABASE_ENGINE") or "sqlite3"),
        "NAME": os.environ.get("DATABASE_NAME") or BASE_DIR / "db.sqlite3",
        "USER": os.environ.get("DATABASE_USERNAME", ""),
        "PASSWORD": secret("DATABASE_PASSWORD") or "",
        "HOST": os.environ.get("DATABASE_HOST", ""),
        "PORT": os.environ.get("DATABASE_PORT", ""),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files go to an S3-compatible bucket when one is configured, so that
# all app servers share one copy; else to STATIC_ROOT. The default storage
# (uploads, which this app has none of) stays on the filesystem.
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
}
STATIC_BUCKET_NAME = optional("STATIC_BUCKET_NAME")
if STATIC_BUCKET_NAME:
    _endpoint = require("STATIC_ENDPOINT_URL").rstrip("/")
    _location = os.environ.get("STATIC_LOCATION", "static").strip("/")
    STORAGES["staticfiles"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            # None lets boto3 find credentials itself (instance role, ~/.aws).
            "access_key": optional("STATIC_ACCESS_KEY_ID"),
            "secret_key": secret("STATIC_SECRET_KEY"),
            "bucket_name": STATIC_BUCKET_NAME,
            "endpoint_url": _endpoint,
            "region_name": optional("STATIC_REGION_NAME"),
            "location": _location,
            # Send no ACL: buckets with object ownership enforced refuse them;
            # public reads come from the bucket policy.
            "default_acl": None,
            # Plain, unsigned URLs: static files are public and cacheable.
            "querystring_auth": False,
            "file_overwrite": True,
            "addressing_style": "path",
        },
    }
    STATIC_URL = "/".join(part for part in (_endpoint, STATIC_BUCKET_NAME, _location) if part) + "/"
else:
    STORAGES["staticfiles"] = {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    }
    STATIC_URL = "static/"
    STATIC_ROOT = BASE_DIR / "staticfiles"

# Security. TLS ends at the reverse proxy. SECURE_PROXY_SSL_HEADER stays
# unset: Django would believe X-Forwarded-Proto from any client. Gunicorn
# sets the request scheme from that header only for connections from
# forwarded_allow_ips (the proxies), see gunicorn.conf.py.
USE_X_FORWARDED_HOST = False
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [
    # The proxy sends Strict-Transport-Security and redirects HTTP to HTTPS;
    # doing either here too would break plain-HTTP health checks.
    "security.W004",  # SECURE_HSTS_SECONDS
    "security.W008",  # SECURE_SSL_REDIRECT
]

# Background tasks (mysite/celery.py, polls/tasks.py): off without a broker. The results go to the
# same Redis unless CELERY_RESULT_BACKEND says otherwise; the scheduler (celery beat) sends a
# heartbeat every CELERY_HEARTBEAT_SECONDS, naming the host it runs on.
# The broker URL may hold a password: read as a secret (CELERY_BROKER_URL_FILE first).
CELERY_BROKER_URL = secret("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = secret("CELERY_RESULT_BACKEND") or CELERY_BROKER_URL
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "polls.tasks.heartbeat",
        "schedule": float(os.environ.get("CELERY_HEARTBEAT_SECONDS") or 60),
        "args": (socket.gethostname(),),
    },
}

LOGLEVEL = os.environ.get("DJANGO_LOGLEVEL", "info").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "console": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "console"},
    },
    "root": {"handlers": ["console"], "level": LOGLEVEL},
}
