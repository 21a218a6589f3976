"""The Celery app of the example: workers and the scheduler (beat) run from the same image as the web.

Tasks are off unless CELERY_BROKER_URL is set: the web then answers 503 on the task endpoints.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

app = Celery("mysite")
# Every CELERY_* Django setting configures Celery (CELERY_BROKER_URL -> broker_url).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
