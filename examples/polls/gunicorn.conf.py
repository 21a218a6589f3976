"""Gunicorn settings; the container runs `gunicorn --config gunicorn.conf.py`."""

import os

wsgi_app = "mysite.wsgi:application"
bind = "0.0.0.0:8000"
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
accesslog = "-"

# Addresses or CIDR networks of the reverse proxies. Only their
# X-Forwarded-Proto decides the request scheme (wsgi.url_scheme), which
# Django uses for is_secure() and CSRF checks; set per deployment.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Nothing in the container uses gunicornc, so don't open its control socket.
control_socket_disable = True
