"""Health endpoints for monitors and load balancers.

* ``PusherStatusView`` — ``GET /health/pusher/status``:
  ``{"success": true, "data": {"status", "connected_users", "total_channels",
  "active_channels", "rate_limit_remaining", "pusher_enabled", ..., "checks"}}``
* ``HealthView`` — ``GET /health``: ``{"success": true, "data": {"status",
  "services": {"database", "cache", "pusher"}}}``

HTTP 200 when healthy, degraded or disabled; 503 when unhealthy. The server is
asked at most once per ``HEALTH_CACHE_SECONDS``, and the Pusher status is kept
that long (until a state write changes the stored state); no secret or stack trace
is ever part of the answer (see ``health/checks.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.views import View
from django.views.decorators.cache import never_cache

from .. import health


class _HealthView(View):
    http_method_names = ["get", "head"]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        """The view, never cached by proxies. Decorated once here: ``method_decorator``
        would apply the decorator again on every request (monitors poll often)."""
        return never_cache(super().as_view(**initkwargs))


class PusherStatusView(_HealthView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        data = health.cached_pusher_status()
        return JsonResponse({"success": True, "data": data}, status=health.http_status(data))


class HealthView(_HealthView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        data = health.project_health()
        return JsonResponse({"success": True, "data": data}, status=health.http_status(data))
