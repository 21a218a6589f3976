import socket
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# Looked up once: the host name does not change while the process runs. The
# deployment names each container after its inventory host.
SERVED_BY = socket.gethostname()


class ServedByMiddleware:
    """Name the app server that produced the response in X-Served-By."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["X-Served-By"] = SERVED_BY
        return response
