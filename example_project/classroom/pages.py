"""The demo's pages: a live dashboard for the logged-in user's role."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from django_toolbox_realtime import has_role, user_role
from django_toolbox_realtime.conf import realtime_settings

from .models import Agent, Classroom

PUBLIC_CHANNELS = ["public-dashboard", "public-notifications", "agent-status"]
# (channel, minimum role) of the brief's private channels, in display order.
ROLE_CHANNELS = [
    ("private-student", "student"),
    ("private-teacher", "teacher"),
    ("private-agent-tasks", "teacher"),
    ("private-admin", "admin"),
    ("private-agent-metrics", "admin"),
    ("private-system-health", "admin"),
]


def channels_for(user: Any) -> list[str]:
    """The channels the dashboard subscribes to for ``user`` (the server still decides)."""
    channels = list(PUBLIC_CHANNELS)
    channels += [name for name, role in ROLE_CHANNELS if has_role(user, role)]
    classrooms = (
        Classroom.objects.all()
        if has_role(user, "admin")
        else (Classroom.objects.filter(students=user) | Classroom.objects.filter(teachers=user))
    )
    channels += [c.presence_channel for c in classrooms.distinct()]
    if has_role(user, "admin"):
        channels += [a.private_channel for a in Agent.objects.all()]
    return channels


def pusher_client_config() -> dict[str, Any]:
    """What pusher-js needs to reach the configured server (never the secret)."""
    s = realtime_settings
    config: dict[str, Any] = {
        "key": str(s.KEY),
        "cluster": s.CLUSTER or "mt1",
        "forceTLS": bool(s.SSL),
    }
    if s.HOST:
        config.update(
            {
                "wsHost": s.HOST,
                "wsPort": int(s.PORT or 80),
                "wssPort": int(s.PORT or 443),
                "enabledTransports": ["ws", "wss"],
            }
        )
    return config


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "role": user_role(user) or "none",
        "channels": channels_for(user),
        "pusher_config": pusher_client_config(),
        "is_student": user_role(user) == "student",
        "is_admin": has_role(user, "admin"),
        "agents": Agent.objects.all(),
        "debug": settings.DEBUG,
    }
    return render(request, "classroom/dashboard.html", context)
