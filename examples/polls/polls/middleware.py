import os
import socket
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# Looked up once: the host name does not change while the process runs. The
# deployment names each container after its inventory host.
SERVED_BY = socket.gethostname()
# The release, baked into the image at build time (Dockerfile ARG APP_VERSION).
APP_VERSION = os.environ.get("APP_VERSION", "")


class ServedByMiddleware:
    """Name the app server that produced the response in X-Served-By, and the
    release in X-App-Version (when the image has one)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["X-Served-By"] = SERVED_BY
        if APP_VERSION:
            response["X-App-Version"] = APP_VERSION
        return response
