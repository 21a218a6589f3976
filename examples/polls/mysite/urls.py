from django.contrib import admin
from django.urls import include, path

from mysite import health

# No route for "/": as in the tutorial, it is a 404.
urlpatterns = [
    path("polls/", include("polls.urls")),
    path("admin/", admin.site.urls),
    path("healthz/", health.process),
    path("healthz/db/", health.database),
]
