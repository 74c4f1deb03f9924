"""System checks of the example project (ids ``classroom.E0xx``).

``classroom.E001``: with ``DEBUG`` False the Pusher secret must not be the demo's,
which is published in ``.env.example`` and ``scripts/demo.sh`` (like Django's own
deploy checks for ``SECRET_KEY``): anyone could sign channel subscriptions and
webhooks with it. Registered as an ordinary check, not a deploy-only one, so
``check``, ``check --deploy``, ``runserver`` and ``migrate`` refuse alike, and
``example_project/wsgi.py`` runs the checks for gunicorn/uWSGI.

``classroom.E002``: ``QUIZ_MAX_ATTEMPTS`` must be a whole number of at least 1.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from example_project.demo_defaults import DEMO_PUSHER_SECRET


@register(Tags.security)
def check_demo_pusher_secret(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    secret = getattr(settings, "TOOLBOX_REALTIME", {}).get("SECRET")
    if settings.DEBUG or secret != DEMO_PUSHER_SECRET:
        return []
    return [
        Error(
            "PUSHER_SECRET (TOOLBOX_REALTIME['SECRET']) is the demo secret published in "
            ".env.example, and DEBUG is False.",
            hint="Set PUSHER_SECRET to your Pusher app's secret (for soketi, the one in "
            "SOKETI_DEFAULT_APP_SECRET); the demo value is only for DEBUG=True.",
            id="classroom.E001",
        )
    ]


@register()
def check_quiz_max_attempts(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    value = getattr(settings, "QUIZ_MAX_ATTEMPTS", 1)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return []
    return [
        Error(
            f"QUIZ_MAX_ATTEMPTS must be a whole number of at least 1, not {value!r}.",
            hint="Attempts each student has per quiz; the example's default is 1.",
            id="classroom.E002",
        )
    ]
