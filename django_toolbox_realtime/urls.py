"""Mount with ``path("api/v1/pusher/", include("django_toolbox_realtime.urls"))``.

Every path works with and without a trailing slash, so a POST is never redirected
(APPEND_SLASH would turn it into a GET and lose the body).
"""

from django.urls import re_path

from .views import auth, batch_auth, health, history, webhooks

app_name = "toolbox_realtime"

urlpatterns = [
    re_path(r"^auth/?$", auth.ChannelAuthView.as_view(), name="auth"),
    re_path(r"^auth/batch/?$", batch_auth.BatchChannelAuthView.as_view(), name="auth-batch"),
    re_path(r"^user-auth/?$", auth.UserAuthView.as_view(), name="user-auth"),
    re_path(r"^webhook/?$", webhooks.WebhookView.as_view(), name="webhook"),
    re_path(r"^health/?$", health.HealthView.as_view(), name="health"),
    re_path(r"^status/?$", health.PusherStatusView.as_view(), name="status"),
    re_path(r"^history/?$", history.HistoryView.as_view(), name="history"),
]
