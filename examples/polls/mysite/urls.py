from django.contrib import admin
from django.urls import include, path

from mysite import health, tasks

# No route for "/": as in the tutorial, it is a 404.
urlpatterns = [
    path("polls/", include("polls.urls")),
    path("admin/", admin.site.urls),
    path("healthz/", health.process),
    path("healthz/db/", health.database),
    path("tasks/echo/", tasks.echo),
    path("tasks/<str:task_id>/", tasks.result),
]
