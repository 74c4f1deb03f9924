"""Health endpoints for monitors and load balancers.

* ``PusherStatusView`` — ``GET /health/pusher/status``:
  ``{"success": true, "data": {"status", "connected_users", "total_channels",
  "active_channels", "rate_limit_remaining", "pusher_enabled", ..., "checks"}}``
* ``HealthView`` — ``GET /health``: ``{"success": true, "data": {"status",
  "services": {"database", "cache", "pusher"}}}``

In full for staff users and for monitors sending ``Authorization: Bearer
<HEALTH_TOKEN>``; anyone else gets the status and the counts (``health.public``).
A missing or wrong token is not an error: it is the public view.

HTTP 200 when healthy, degraded or disabled; 503 when unhealthy. The server is
asked at most once per ``HEALTH_CACHE_SECONDS``, and the Pusher status is kept
that long (until a state write changes the stored state); no secret or stack trace
is ever part of the answer (see ``health/checks.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.utils.cache import patch_vary_headers
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from .. import health
from ..health import public


def sees_everything(request: HttpRequest) -> bool:
    """A staff user (session), or a monitor with the health token."""
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    return public.token_matches(request.META.get("HTTP_AUTHORIZATION", ""))


class _HealthView(View):
    http_method_names = ["get", "head"]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        """The view, never cached by proxies, and CSRF-exempt (GET/HEAD only: Django's
        CSRF check of a POST would read the body first, and 500 on a Content-Length
        that is not a number; exempt, a POST is the view's 405). Decorated once here:
        ``method_decorator`` would apply the decorators again on every request."""
        return csrf_exempt(never_cache(super().as_view(**initkwargs)))

    @staticmethod
    def answer(data: dict[str, Any], status: int) -> JsonResponse:
        response = JsonResponse({"success": True, "data": data}, status=status)
        patch_vary_headers(response, ("Authorization", "Cookie"))
        return response


class PusherStatusView(_HealthView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        data = health.cached_pusher_status()
        shown = public.status_view(data, sees_everything(request))
        return self.answer(shown, health.http_status(data))


class HealthView(_HealthView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        data = health.project_health()
        shown = public.health_view(data, sees_everything(request))
        return self.answer(shown, health.http_status(data))
