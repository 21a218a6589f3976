from django.contrib import admin
from django.urls import include, path

# No route for "/": as in the tutorial, it is a 404.
urlpatterns = [
    path("polls/", include("polls.urls")),
    path("admin/", admin.site.urls),
]
