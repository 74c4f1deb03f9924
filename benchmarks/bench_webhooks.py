"""Webhooks and health, against bare Django views in the same run.

* Signed webhook batches (10 events each: occupy, 4 joins, 4 leaves, vacate)
  through the full request stack, vs a bare POST view that only reads the body.
  Goal: ratio >= 0.5.
* ``GET /health/pusher/status`` with the server snapshot warm (a real soketi when
  it is installed), vs a bare GET view returning a small JSON object.

Rounds alternate between the app and the baseline; the best round of each counts
(these machines are noisy). Every loop is bounded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.http import HttpRequest, JsonResponse
from django.test import Client, override_settings
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from benchmarks import Result
from django_toolbox_realtime.views.health import PusherStatusView
from django_toolbox_realtime.views.webhooks import WebhookView
from tests.helpers import sign


@csrf_exempt
def bare_post(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "bytes": len(request.body)})


def bare_get(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"success": True, "data": {"status": "healthy"}})


urlpatterns = [
    path("bare-post", bare_post),
    path("bare-get", bare_get),
    path("webhook", WebhookView.as_view()),
    path("status", PusherStatusView.as_view()),
]


def batch(i: int, t0: int) -> bytes:
    room = f"presence-room-{i % 50}"
    users = [f"user-{i % 7}-{n}" for n in range(4)]
    events: list[dict[str, Any]] = [{"name": "channel_occupied", "channel": room}]
    events += [{"name": "member_added", "channel": room, "user_id": u} for u in users]
    events += [{"name": "member_removed", "channel": room, "user_id": u} for u in users]
    events.append({"name": "channel_vacated", "channel": room})
    return json.dumps({"time_ms": t0 + i, "events": events}).encode()


def _rate(n: int, call: Callable[[int], None]) -> float:
    started = time.perf_counter()
    for i in range(n):
        call(i)
    return n / (time.perf_counter() - started)


def _best_of(
    rounds: int, n: int, app: Callable[[int], None], base: Callable[[int], None]
) -> tuple[float, float]:
    best_app = best_base = 0.0
    for _ in range(rounds):
        best_base = max(best_base, _rate(n, base))
        best_app = max(best_app, _rate(n, app))
    return best_app, best_base


def bench_webhooks(quick: bool) -> Result:
    n, rounds = (150, 2) if quick else (600, 3)
    client = Client()
    key, secret = settings.TEST_KEY, settings.TEST_SECRET
    t0 = int(time.time() * 1000)
    bodies = [batch(i, t0) for i in range(n * rounds * 2 + 10)]
    signatures = [sign(secret, b) for b in bodies]
    counter = [0]

    def post(url: str) -> Callable[[int], None]:
        def call(_: int) -> None:
            i = counter[0]
            counter[0] += 1
            response = client.post(
                url,
                data=bodies[i],
                content_type="application/json",
                HTTP_X_PUSHER_KEY=key,
                HTTP_X_PUSHER_SIGNATURE=signatures[i],
            )
            if response.status_code != 200 or (
                url == "/webhook" and response.json().get("processed") != 10
            ):
                raise RuntimeError(f"{url} answered {response.status_code}: {response.content!r}")

        return call

    for i in range(10):  # warm up (imports, first queries)
        post("/webhook")(i)
    app, base = _best_of(rounds, n, post("/webhook"), post("/bare-post"))
    return Result(
        "webhook batches (10 events, signed, stored)",
        app,
        "batch/s",
        baseline=base,
        goal=">= 0.5",
        goal_min_ratio=0.5,
    )


def bench_health(quick: bool) -> list[Result]:
    n, rounds = (300, 2) if quick else (1500, 3)
    client = Client()
    soketi = _start_soketi()
    try:
        if soketi is not None:
            from tests.conftest import realtime_for

            realtime = realtime_for(soketi)
            label = "health status, warm (real soketi)"
        else:
            realtime = dict(settings.TOOLBOX_REALTIME)
            label = "health status, warm (no server: locmem backend)"
        with override_settings(TOOLBOX_REALTIME=realtime):
            first = client.get("/status")
            if first.status_code != 200 or first.json()["data"]["status"] != "healthy":
                raise RuntimeError(f"health not healthy: {first.content!r}")

            def app(_: int) -> None:
                if client.get("/status").status_code != 200:
                    raise RuntimeError("health failed")

            def base(_: int) -> None:
                client.get("/bare-get")

            app_rate, base_rate = _best_of(rounds, n, app, base)
    finally:
        if soketi is not None:
            soketi.stop()
    return [Result(label, app_rate, "req/s", baseline=base_rate)]


def _start_soketi() -> Any:
    from tests.soketi import SOKETI_JS, SoketiServer

    if not SOKETI_JS.exists():
        return None
    server = SoketiServer(settings.TEST_APP_ID, settings.TEST_KEY, settings.TEST_SECRET)
    return server.start()


def run(quick: bool) -> list[Result]:
    call_command("migrate", run_syncdb=True, verbosity=0)
    with override_settings(ROOT_URLCONF="benchmarks.bench_webhooks"):
        results = [bench_webhooks(quick)]
        results += bench_health(quick)
    return results
