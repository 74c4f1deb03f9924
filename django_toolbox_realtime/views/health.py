"""Health endpoints (minimal form: enabled flag and server reachability)."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import JsonResponse
from django.views import View

from .. import server_api
from ..conf import realtime_settings
from ..exceptions import RealtimeError

CACHE_KEY = "toolbox_realtime:health:server"
CACHE_SECONDS = 10


def server_check() -> dict[str, Any]:
    cached = cache.get(CACHE_KEY)
    if cached is not None:
        return cached
    try:
        latency = server_api.ping()
        result = {"reachable": True, "latency_ms": round(latency, 1), "error": None}
    except RealtimeError as exc:
        status = getattr(exc, "status", None)
        result = {"reachable": False, "latency_ms": None,
                  "error": f"server answered {status}" if status else "server unreachable"}
    cache.set(CACHE_KEY, result, CACHE_SECONDS)
    return result


def pusher_status() -> dict[str, Any]:
    if not realtime_settings.ENABLED:
        return {"status": "disabled", "pusher_enabled": False}
    server = server_check()
    return {"status": "healthy" if server["reachable"] else "unhealthy",
            "pusher_enabled": True, "server": server}


class PusherStatusView(View):
    def get(self, request: Any) -> JsonResponse:
        data = pusher_status()
        return JsonResponse({"success": True, "data": data},
                            status=503 if data["status"] == "unhealthy" else 200)


class HealthView(PusherStatusView):
    pass
