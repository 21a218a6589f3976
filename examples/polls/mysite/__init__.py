# Loaded with Django, so that @shared_task binds to the example's Celery app.
from mysite.celery import app as celery_app

__all__ = ("celery_app",)
