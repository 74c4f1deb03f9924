"""URLs of the scenario (mounted at the project root)."""

from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from . import notifications, pages, views

urlpatterns = [
    re_path(r"^api/v1/auth/token/?$", views.TokenView.as_view(), name="auth-token"),
    re_path(
        r"^api/v1/quiz/(?P<quiz_id>[0-9]+)/submit/?$",
        views.QuizSubmitView.as_view(),
        name="quiz-submit",
    ),
    re_path(
        r"^api/v1/agents/(?P<name>[-a-zA-Z0-9_]+)/status/?$",
        views.AgentStatusView.as_view(),
        name="agent-status",
    ),
    re_path(
        r"^api/v1/notifications/?$",
        notifications.NotificationView.as_view(),
        name="notifications",
    ),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", pages.dashboard, name="dashboard"),
]
