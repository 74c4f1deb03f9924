"""Mount with ``path("api/v1/pusher/", include("django_toolbox_realtime.urls"))``.

Every path works with and without a trailing slash, so a POST is never redirected
(APPEND_SLASH would turn it into a GET and lose the body).
"""

from django.urls import re_path

from .views import health

app_name = "toolbox_realtime"

urlpatterns = [
    re_path(r"^health/?$", health.HealthView.as_view(), name="health"),
    re_path(r"^status/?$", health.PusherStatusView.as_view(), name="status"),
]
