"""System-check messages about health, webhook noise, the public-channel cap and
usage counting (ids ``toolbox_realtime.E020``+ and ``W020``+), registered by
``checks.py``. Messages never echo the token."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning
from django.db import connections, router

from ..conf import SETTINGS_NAME, realtime_settings
from ..credentials import is_placeholder_secret
from ..models.usage import COUNTER_CHOICES, UsageCounter, cache_is_shared, counts_in_cache

#: The shortest HEALTH_TOKEN accepted.
MIN_TOKEN_LENGTH = 32
#: Settings that must be whole numbers, 0 or more.
COUNTS = (
    "HEALTH_WEBHOOK_SILENCE_SECONDS",
    "WEBHOOK_REJECTIONS_LOGGED",
    "STATE_MAX_PUBLIC_CHANNELS",
)


def _id(n: int, kind: str = "E") -> str:
    return f"toolbox_realtime.{kind}{n:03d}"


def _setting(name: str) -> str:
    return f"{SETTINGS_NAME}['{name}']"


def token_problem(token: Any) -> bool:
    """Whether ``HEALTH_TOKEN`` is set but unusable (not text, short, a placeholder)."""
    if token is None:
        return False
    return (
        not isinstance(token, str)
        or len(token.strip()) < MIN_TOKEN_LENGTH
        or is_placeholder_secret(token)
    )


def messages() -> list[CheckMessage]:
    return [*_token_errors(), *_count_errors(), *_counter_messages()]


def _token_errors() -> list[CheckMessage]:
    if not token_problem(realtime_settings.raw("HEALTH_TOKEN")):
        return []
    return [
        Error(
            f"{_setting('HEALTH_TOKEN')} must be text of at least {MIN_TOKEN_LENGTH} random "
            "characters, not a placeholder (or None: only staff users see health in full).",
            hint='Generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"',
            id=_id(20),
        )
    ]


def _count_errors() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in COUNTS:
        value = realtime_settings.raw(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            errors.append(Error(f"{_setting(name)} must be a whole number, 0 or more.", id=_id(22)))
    return errors


def _counter_messages() -> list[CheckMessage]:
    mode = realtime_settings.raw("USAGE_COUNTER")
    if mode not in COUNTER_CHOICES:
        return [
            Error(
                f"{_setting('USAGE_COUNTER')} must be one of "
                f"{', '.join(repr(c) for c in COUNTER_CHOICES)}.",
                id=_id(21),
            )
        ]
    if counts_in_cache():
        if cache_is_shared():
            return []
        backend = str(django_settings.CACHES.get("default", {}).get("BACKEND", ""))
        where = f"the default cache ({backend.rsplit('.', 1)[-1] or 'none'})"
        why = "is not shared by every process, or not atomically"
    else:
        connection: Any = connections[router.db_for_write(UsageCounter)]
        if not (connection.vendor == "sqlite" and connection.is_in_memory_db()):
            return []
        where, why = "the database", "is an in-memory SQLite database, one per process"
    return [
        Warning(
            f"Messages sent and webhooks rejected are counted in {where}, which {why}: "
            "health's messages_today and rate_limit_remaining miss what other processes "
            "(workers, manage.py commands) send.",
            hint=f"Use Redis or Memcached as the default cache, or {_setting('USAGE_COUNTER')} "
            '= "database" with a database every process shares.',
            id=_id(20, "W"),
        )
    ]
