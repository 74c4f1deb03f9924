"""Delivery throughput: our ``trigger_batch`` vs the raw ``pusher`` library, to a real soketi.

Both send the same 2,000 events (10 per batch request, so 200 requests each) to
the same soketi over keep-alive connections. Runs are interleaved and the best
of each is kept, so machine noise hits both sides alike.
"""

from __future__ import annotations

import time

import pusher
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from benchmarks import Result
from django_toolbox_realtime import trigger_batch
from django_toolbox_realtime.validation import (
    encode_payload,
    validate_event_name,
    validate_trigger_channel,
)
from tests.soketi import SoketiServer

EVENTS = 2_000


def _events(n: int) -> list[dict]:
    return [
        {
            "channel": f"public-bench-{i % 20}",
            "event": "tick",
            "data": {"i": i, "text": "payload é€", "values": list(range(10))},
        }
        for i in range(n)
    ]


def _raw(client: pusher.Pusher, events: list[dict]) -> float:
    started = time.perf_counter()
    for i in range(0, len(events), 10):
        client.trigger_batch(
            [
                {"channel": e["channel"], "name": e["event"], "data": e["data"]}
                for e in events[i : i + 10]
            ]
        )
    return time.perf_counter() - started


def _ours(events: list[dict]) -> float:
    started = time.perf_counter()
    result = trigger_batch(events)
    elapsed = time.perf_counter() - started
    assert result["sent"] and result["requests"] == len(events) // 10
    return elapsed


def _validation_us(events: list[dict], rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        for e in events:
            validate_trigger_channel(e["channel"])
            validate_event_name(e["event"])
            encode_payload(e["data"])
    return (time.perf_counter() - started) / (rounds * len(events)) * 1e6


def run(quick: bool = False) -> list[Result]:
    # Delivery counts messages (the budget): in the database when the cache is
    # per-process, as here, so the tables must exist when this runs alone.
    call_command("migrate", run_syncdb=True, verbosity=0)
    n = 500 if quick else EVENTS
    rounds = 2 if quick else 4
    events = _events(n)
    with SoketiServer(settings.TEST_APP_ID, settings.TEST_KEY, settings.TEST_SECRET) as server:
        raw_client = pusher.Pusher(
            app_id=server.app_id,
            key=server.key,
            secret=server.secret,
            host=server.host,
            port=server.port,
            ssl=False,
        )
        config = {
            **settings.TOOLBOX_REALTIME,
            "HOST": server.host,
            "PORT": server.port,
            "BACKEND": "django_toolbox_realtime.backends.pusher.PusherBackend",
        }
        with override_settings(TOOLBOX_REALTIME=config):
            _raw(raw_client, events[:50])  # warm both connections
            _ours(events[:50])
            raw_best = ours_best = float("inf")
            for _ in range(rounds):
                raw_best = min(raw_best, _raw(raw_client, events))
                ours_best = min(ours_best, _ours(events))
    return [
        Result(
            f"trigger_batch: {n} events to soketi (vs raw pusher lib)",
            n / ours_best,
            "ev/s",
            baseline=n / raw_best,
            goal=">= 0.9",
            goal_min_ratio=0.9,
        ),
        Result("validation + JSON encoding per event", _validation_us(events, rounds), "µs"),
    ]
