"""The outbox drained under load: events written to the outbox (no first try),
sent by the outbox worker (``manage.py realtime_deliver --once``) while the auth
load runs, and counted where they arrive: a WebSocket client on soketi."""

from __future__ import annotations

import json
import threading
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.test import override_settings

from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.delivery.api import new_event_id
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.models.outbox import OutboxEvent
from django_toolbox_realtime.validation import encode_payload
from tests.pusher_ws import PusherWSClient

CHANNELS = [f"public-load-{i}" for i in range(10)]
EVENT = "load-tick"


def enqueue(count: int) -> None:
    """``count`` events in the outbox, pending (``FIRST_ATTEMPT = "off"``: only the
    worker sends them), 100 per transaction."""
    config = {
        **settings.TOOLBOX_REALTIME,
        "DELIVERY": "outbox",
        "FIRST_ATTEMPT": "off",
        "FIRST_ATTEMPT_GRACE_SECONDS": 0,  # due at once: the worker's --once sends them
    }
    with override_settings(TOOLBOX_REALTIME=config):
        for start in range(0, count, 100):
            with transaction.atomic():
                publish(
                    [
                        OutgoingEvent(
                            new_event_id(),
                            EVENT,
                            (CHANNELS[i % len(CHANNELS)],),
                            encode_payload({"i": i}),
                        )
                        for i in range(start, min(count, start + 100))
                    ],
                    source="load test",
                )


class Counter:
    """A WebSocket client on every load channel, counting distinct events."""

    def __init__(self, ws_url: str) -> None:
        self.client = PusherWSClient(ws_url, timeout=20)
        self.seen: set[Any] = set()
        self.duplicates = 0
        self._looked = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Counter:
        self.client.connect()
        for channel in CHANNELS:
            reply = self.client.subscribe(channel)
            if reply is None or reply["event"] != "pusher_internal:subscription_succeeded":
                raise RuntimeError(f"cannot subscribe {channel}: {reply}")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.client.close()

    def _count(self, messages: list[dict[str, Any]]) -> int:
        with self._lock:  # incremental: each message is looked at once
            for message in messages[self._looked :]:
                if message.get("event") == EVENT:
                    i = _index(message)
                    if i in self.seen:
                        self.duplicates += 1
                    self.seen.add(i)
            self._looked = len(messages)
            return len(self.seen)

    def wait_for(self, count: int, timeout: float) -> int:
        self.client.wait_until(lambda messages: self._count(messages) >= count, timeout)
        return self._count(self.client.messages)


def _index(message: dict[str, Any]) -> Any:
    data = message.get("data")
    return json.loads(data).get("i") if isinstance(data, str) else None


def states() -> dict[str, int]:
    """Outbox rows per state (delivered rows beyond the history bounds are pruned)."""
    rows = OutboxEvent.objects.values("state").annotate(n=Count("id"))
    return {row["state"]: row["n"] for row in rows}
