"""Webhooks and health, against what a user would write instead, in the same run.

* Signed webhook batches (10 events each: occupy, 4 joins, 4 leaves, vacate)
  through the full request stack: ``WebhookView`` (verified, de-duplicated, state
  applied in order, in the request) vs a hand-written view that checks the
  signature with the ``pusher`` library's own ``validate_webhook`` and stores each
  event with the ORM in one transaction (``benchmarks/baseline``). Same database,
  same batches. Goal: ratio >= 1.0. Also: batches per second on one core (one
  process, wall clock), and statements and commits per batch of both. An extra
  line (no goal) compares with the same hand-written view using ``bulk_create``.
* ``GET /health/pusher/status`` with the server snapshot warm (a real soketi when
  it is installed), vs a bare GET view returning a small JSON object.

Interleaved pairs (baseline, app; app, baseline; ...); the median of the pairs'
ratios is reported. Every loop is bounded by count.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.test import Client, override_settings
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from benchmarks import Result, interleaved
from benchmarks.baseline.models import ReceivedEvent
from benchmarks.baseline.views import client as pusher_client
from benchmarks.baseline.views import handwritten_webhook
from benchmarks.counting import per_operation
from django_toolbox_realtime.models import ChannelState, PresenceMember, WebhookDelivery
from django_toolbox_realtime.views.health import PusherStatusView
from django_toolbox_realtime.views.webhooks import WebhookView
from tests.helpers import sign


@csrf_exempt
def handwritten_bulk(request: HttpRequest) -> JsonResponse:
    """The hand-written view again, one ``bulk_create`` instead of a save per event."""
    data = pusher_client().validate_webhook(
        key=request.headers.get("X-Pusher-Key", ""),
        signature=request.headers.get("X-Pusher-Signature", ""),
        body=request.body.decode("utf-8"),
    )
    if data is None:
        return JsonResponse({"ok": False}, status=401)
    events = data.get("events", [])
    with transaction.atomic():
        ReceivedEvent.objects.bulk_create(
            ReceivedEvent(
                name=e["name"],
                channel=e["channel"],
                user_id=e.get("user_id", ""),
                time_ms=data["time_ms"],
            )
            for e in events
        )
    return JsonResponse({"ok": True, "processed": len(events)})


def bare_get(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"success": True, "data": {"status": "healthy"}})


urlpatterns = [
    path("webhook", WebhookView.as_view()),
    path("handwritten", handwritten_webhook),
    path("handwritten-bulk", handwritten_bulk),
    path("bare-get", bare_get),
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


class Poster:
    """Posts fresh signed batches (each body once: the app drops a repeated one)."""

    def __init__(self, total: int) -> None:
        self.client = Client()
        t0 = int(time.time() * 1000)
        self.bodies = [batch(i, t0) for i in range(total)]
        self.signatures = [sign(settings.TEST_SECRET, b) for b in self.bodies]
        self.next = 0

    def post(self, url: str) -> None:
        i, self.next = self.next, self.next + 1
        response = self.client.post(
            url,
            data=self.bodies[i],
            content_type="application/json",
            HTTP_X_PUSHER_KEY=settings.TEST_KEY,
            HTTP_X_PUSHER_SIGNATURE=self.signatures[i],
        )
        if response.status_code != 200 or response.json().get("processed") != 10:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.content!r}")

    def rate(self, url: str, n: int) -> Callable[[], float]:
        def measure() -> float:
            started = time.perf_counter()
            for _ in range(n):
                self.post(url)
            return n / (time.perf_counter() - started)

        return measure


def _clear() -> None:
    for model in (ReceivedEvent, PresenceMember, ChannelState, WebhookDelivery):
        model.objects.all().delete()


def bench_webhooks(quick: bool) -> list[Result]:
    n, pairs, sample = (100, 3, 10) if quick else (300, 7, 30)
    bulk_pairs = max(2, pairs // 2)
    poster = Poster(30 + 2 * n * (pairs + bulk_pairs) + 3 * sample)
    for _ in range(10):  # warm up (imports, compiled statements, first queries)
        for url in ("/webhook", "/handwritten", "/handwritten-bulk"):
            poster.post(url)
    app, base = interleaved(pairs, poster.rate("/webhook", n), poster.rate("/handwritten", n))
    bulk_app, bulk = interleaved(
        bulk_pairs, poster.rate("/webhook", n), poster.rate("/handwritten-bulk", n)
    )
    app_stmt, app_commits = per_operation(sample, lambda _: poster.post("/webhook"))
    base_stmt, base_commits = per_operation(sample, lambda _: poster.post("/handwritten"))
    bulk_stmt, bulk_commits = per_operation(sample, lambda _: poster.post("/handwritten-bulk"))
    counts: dict[str, Any] = {"op": "batch", "statements": app_stmt, "commits": app_commits}
    return [
        Result.of_pairs(
            "webhook batch (10 events) vs pusher validate_webhook + ORM",
            "batch/s",
            app,
            base,
            goal=">= 1.0",
            goal_min_ratio=1.0,
            baseline_statements=base_stmt,
            baseline_commits=base_commits,
            **counts,
        ),
        Result.of_pairs(
            "    same, baseline stores with one bulk_create (no goal)",
            "batch/s",
            bulk_app,
            bulk,
            baseline_statements=bulk_stmt,
            baseline_commits=bulk_commits,
            **counts,
        ),
        Result(
            "    webhook batches/s on one core (one process, wall clock)",
            max(app),
            "batch/s",
            repeats=len(app),
        ),
    ]


def bench_health(quick: bool) -> list[Result]:
    n, pairs = (300, 3) if quick else (1000, 5)
    client = Client()
    soketi = _start_soketi()
    try:
        if soketi is not None:
            from tests.conftest import realtime_for

            realtime = realtime_for(soketi)
            label = "health status, warm (real soketi) vs bare GET"
        else:
            realtime = dict(settings.TOOLBOX_REALTIME)
            label = "health status, warm (no server: locmem backend) vs bare GET"
        with override_settings(TOOLBOX_REALTIME=realtime):
            _reset_message_count()
            first = client.get("/status")
            if first.status_code != 200 or first.json()["data"]["status"] != "healthy":
                raise RuntimeError(f"health not healthy: {first.content!r}")

            def rate(url: str) -> Callable[[], float]:
                def measure() -> float:
                    started = time.perf_counter()
                    for _ in range(n):
                        if client.get(url).status_code != 200:
                            raise RuntimeError(f"{url} failed")
                    return n / (time.perf_counter() - started)

                return measure

            app, base = interleaved(pairs, rate("/status"), rate("/bare-get"))
    finally:
        if soketi is not None:
            soketi.stop()
    return [Result.of_pairs(label, "req/s", app, base)]


def _reset_message_count() -> None:
    """Start today's message count from zero: on PostgreSQL the benchmarks' database
    keeps it between runs, and a few runs in one day (each sends ~100,000 events)
    use up DAILY_MESSAGE_BUDGET, which makes the status "degraded"."""
    from django_toolbox_realtime.delivery import usage
    from django_toolbox_realtime.models.usage import UsageCounter

    usage.discard_unwritten()
    UsageCounter.objects.all().delete()


def _start_soketi() -> Any:
    from tests.soketi import SOKETI_JS, SoketiServer

    if not SOKETI_JS.exists():
        return None
    server = SoketiServer(settings.TEST_APP_ID, settings.TEST_KEY, settings.TEST_SECRET)
    return server.start()


def run(quick: bool) -> list[Result]:
    call_command("migrate", run_syncdb=True, verbosity=0)
    _clear()
    with override_settings(ROOT_URLCONF="benchmarks.bench_webhooks"):
        results = bench_webhooks(quick)
        results += bench_health(quick)
    _clear()
    return results
