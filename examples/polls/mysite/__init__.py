# The Celery app (mysite/celery.py) is not imported here, as Celery's Django guide does: the web and the
# one-off commands would pay for loading Celery at every start. `celery -A mysite` finds mysite.celery by
# itself, and the task endpoints load it when first asked (mysite/tasks.py).
