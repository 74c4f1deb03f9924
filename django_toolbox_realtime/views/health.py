"""Health endpoints for monitors and load balancers.

* ``PusherStatusView`` — ``GET /health/pusher/status``:
  ``{"success": true, "data": {"status", "connected_users", "total_channels",
  "active_channels", "rate_limit_remaining", "pusher_enabled", ..., "checks"}}``
* ``HealthView`` — ``GET /health``: ``{"success": true, "data": {"status",
  "services": {"database", "cache", "pusher"}}}``

HTTP 200 when healthy, degraded or disabled; 503 when unhealthy. The server is
asked at most once per ``HEALTH_CACHE_SECONDS``; no secret or stack trace is
ever part of the answer (see ``health/checks.py``).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from .. import health


@method_decorator(never_cache, name="dispatch")
class PusherStatusView(View):
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        data = health.pusher_status()
        return JsonResponse({"success": True, "data": data}, status=health.http_status(data))


@method_decorator(never_cache, name="dispatch")
class HealthView(View):
    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        data = health.project_health()
        return JsonResponse({"success": True, "data": data}, status=health.http_status(data))
