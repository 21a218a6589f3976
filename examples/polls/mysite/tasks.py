"""Task endpoints, for seeing the workers work from outside: POST /tasks/echo/ (form fields `tag` and
`seconds`, at most 60) queues polls.tasks.echo and answers 202 with its id; GET /tasks/<id>/ answers its
state and, once done, its result (which worker ran it, with which release). 503 when no broker is set.
Unauthenticated, like the polls: the echo task does nothing but wait and answer."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST


def _no_broker() -> JsonResponse | None:
    if settings.CELERY_BROKER_URL:
        return None
    return JsonResponse({"error": "no broker: set CELERY_BROKER_URL"}, status=503)


@csrf_exempt  # an API endpoint: no session, no form page to take a token from
@require_POST
def echo(request: HttpRequest) -> JsonResponse:
    if (unavailable := _no_broker()) is not None:
        return unavailable
    from mysite.celery import app  # noqa: F401  (loaded first, so that the shared task binds to it)
    from polls.tasks import echo as echo_task

    try:
        seconds = float(request.POST.get("seconds") or 0)
    except ValueError:
        return JsonResponse({"error": "seconds must be a number"}, status=400)
    queued = echo_task.delay(request.POST.get("tag", "")[:100], seconds)
    return JsonResponse({"id": queued.id}, status=202)


@never_cache
@require_GET
def result(request: HttpRequest, task_id: str) -> JsonResponse:
    if (unavailable := _no_broker()) is not None:
        return unavailable
    from celery.result import AsyncResult

    from mysite.celery import app

    found = AsyncResult(task_id, app=app)
    ready = found.ready()
    done = found.date_done if ready else None
    return JsonResponse({"id": task_id, "state": found.state, "result": found.result if found.successful() else None,
                         "ready": ready, "done": done.isoformat() if done else None})
