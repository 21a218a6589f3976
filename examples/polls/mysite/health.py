"""Health endpoints for the proxies' and the deployment's checks: cheap enough to ask every few seconds.

/healthz/ answers "ok" without touching the database (the process serves requests); /healthz/db/ also runs
one query and answers 503 when the database cannot be reached (the app can serve pages that need it).
"""

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body + "\n", status=status, content_type="text/plain; charset=utf-8")


@never_cache
def process(request: HttpRequest) -> HttpResponse:
    return _text("ok")


@never_cache
def database(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return _text("database unavailable: %s" % type(error).__name__, status=503)
    return _text("ok database")
