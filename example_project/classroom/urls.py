"""URLs of the scenario (mounted at the project root)."""

from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^api/v1/auth/token/?$", views.TokenView.as_view(), name="auth-token"),
]
