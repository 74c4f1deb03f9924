"""Health reports built from the checks in ``health.checks``.

* :func:`pusher_status` — ``/health/pusher/status``: the brief's figures
  (``connected_users``, ``total_channels``, ``active_channels``,
  ``rate_limit_remaining``, ``pusher_enabled``) plus one entry per check;
  :func:`cached_pusher_status` is the same, kept for ``HEALTH_CACHE_SECONDS``
  (see ``status_cache``), which the endpoints serve.
* :func:`project_health` — ``/health``: database and cache (live) and
  ``services.pusher`` (cached).
* ``public`` — what each caller may see of them: all of it for staff users and
  monitors with ``HEALTH_TOKEN``, the status and the counts for anyone else.

Statuses: ``healthy``, ``degraded``, ``unhealthy``, ``disabled``
(``ENABLED`` is False). Only ``unhealthy`` answers HTTP 503.
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache
from typing import Any

from django.utils.module_loading import import_string

from .. import state
from ..backends import http_client as client
from ..conf import SETTINGS_NAME, realtime_settings
from ..exceptions import RealtimeConfigurationError
from ..validation import PRESENCE_PREFIX
from . import server, status_cache
from .checks import ERROR, WARNING, BaseCheck, CheckResult, HealthContext

logger = logging.getLogger("django_toolbox_realtime.health")

HEALTHY, DEGRADED, UNHEALTHY, DISABLED = "healthy", "degraded", "unhealthy", "disabled"
_RANK = {HEALTHY: 0, DISABLED: 0, DEGRADED: 1, UNHEALTHY: 2}


@lru_cache(maxsize=16)
def _load(paths: tuple[str, ...]) -> tuple[type[BaseCheck], ...]:
    classes = []
    for path in paths:
        try:
            classes.append(import_string(path))
        except ImportError as exc:
            raise RealtimeConfigurationError(
                f"{SETTINGS_NAME}: health check {path!r} cannot be imported."
            ) from exc
    return tuple(classes)


def run_checks(
    paths: list[str], context: HealthContext
) -> dict[str, tuple[BaseCheck, CheckResult]]:
    """Run each check; an unexpected exception is logged and reported generically."""
    results: dict[str, tuple[BaseCheck, CheckResult]] = {}
    for cls in _load(tuple(paths)):
        check = cls(context)
        try:
            result = check.run()
        except Exception:
            logger.exception("Health check %s failed unexpectedly.", cls.__name__)
            result = CheckResult(ERROR, "unexpected error (see the logs)")
        results[check.name] = (check, result)
    return results


def overall(results: dict[str, tuple[BaseCheck, CheckResult]]) -> str:
    status = HEALTHY
    for check, result in results.values():
        if result.status == ERROR and check.critical:
            return UNHEALTHY
        if result.status in (ERROR, WARNING):
            status = DEGRADED
    return status


def pusher_status(context: HealthContext | None = None) -> dict[str, Any]:
    """The ``data`` of ``/health/pusher/status``, computed now."""
    context = context or HealthContext()
    results = run_checks(list(realtime_settings.HEALTH_CHECKS), context)
    status = overall(results) if context.enabled else DISABLED
    # The stored state, checked against the server's snapshot (see ``sources``).
    channels, source = context.channels.names, context.channels.source
    # The HTTP API has no user total: distinct users of the presence channels listed
    # above, as the webhooks reported them.
    connected = state.connected_user_count(c for c in channels if c.startswith(PRESENCE_PREFIX))
    limit = int(realtime_settings.HEALTH_MAX_CHANNELS_LISTED)
    budget = context.budget
    return {
        "status": status,
        "pusher_enabled": context.enabled,
        "connected_users": connected,
        "total_channels": len(channels),
        "active_channels": channels[:limit],
        "active_channels_truncated": len(channels) > limit,
        "source": source,
        "rate_limit_remaining": budget.remaining,
        "messages_today": budget.sent,
        "daily_message_budget": budget.daily,
        "server": client.server_label(),
        "checked_at": context.now.isoformat(),
        "checks": {name: result.as_dict() for name, (_, result) in results.items()},
    }


def cached_pusher_status() -> dict[str, Any]:
    """:func:`pusher_status`, computed at most once per ``HEALTH_CACHE_SECONDS``
    and again as soon as a state write (a webhook, ``realtime_sync``) changed the
    stored state."""
    data, version = status_cache.lookup()
    if data is not None:
        return data
    context = HealthContext()
    data = pusher_status(context)
    if context.server_pending():
        return data  # a transient "check in progress": not worth a period
    # Fresh from the older of now and the server snapshot it shows.
    fetched_at = context.server_fetched_at()
    fresh_from = min(server.clock(), math.inf if fetched_at is None else fetched_at)
    status_cache.store(data, version, fresh_from)
    return data


def project_health() -> dict[str, Any]:
    """The ``data`` of ``/health``: each service's status, Pusher under ``services.pusher``."""
    context = HealthContext()
    services: dict[str, Any] = {}
    for name, (_check, result) in run_checks(
        list(realtime_settings.HEALTH_SERVICE_CHECKS), context
    ).items():
        services[name] = {
            **result.as_dict(),
            "status": {ERROR: UNHEALTHY, WARNING: DEGRADED}.get(result.status, HEALTHY),
        }
    services["pusher"] = cached_pusher_status()
    worst = max((s["status"] for s in services.values()), key=lambda s: _RANK.get(s, 2))
    return {"status": HEALTHY if worst == DISABLED else worst, "services": services}


def http_status(data: dict[str, Any]) -> int:
    return 503 if data.get("status") == UNHEALTHY else 200
