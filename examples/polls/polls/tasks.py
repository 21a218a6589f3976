"""Two small tasks whose effect a deployment check can see.

`echo` returns which worker ran it and with which release (after sleeping, to stand for a long task);
`heartbeat` is what the scheduler sends: it records, per scheduler host, when it last ran.
"""

import os
import socket
import time

from celery import shared_task
from django.conf import settings

HEARTBEAT_KEY = "djangoops:heartbeat:"
MAX_SLEEP_SECONDS = 60


@shared_task
def echo(tag: str, seconds: float = 0) -> dict:
    time.sleep(min(max(float(seconds), 0.0), MAX_SLEEP_SECONDS))
    return {"tag": tag, "worker": socket.gethostname(), "release": os.environ.get("APP_VERSION", "dev")}


@shared_task
def heartbeat(scheduler: str) -> None:
    import redis  # the broker's client, installed with celery[redis]

    client = redis.Redis.from_url(settings.CELERY_RESULT_BACKEND)
    client.set(HEARTBEAT_KEY + scheduler, "%s %s" % (time.time(), socket.gethostname()))
