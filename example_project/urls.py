from django.contrib import admin
from django.urls import include, path, re_path

from django_toolbox_realtime.views import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/pusher/", include("django_toolbox_realtime.urls")),
    path("", include("example_project.classroom.urls")),
    re_path(r"^health/?$", health.HealthView.as_view(), name="health"),
    re_path(r"^health/pusher/status/?$", health.PusherStatusView.as_view(), name="pusher-status"),
]
