"""Keeps events in memory, for tests: assert on ``outbox`` like ``mail.outbox``."""

from __future__ import annotations

import threading

from .base import BaseBackend, OutgoingEvent

#: Every event "sent" through a LocmemBackend, in order. One entry per
#: (event, channel) chunk as it would have gone to the server.
outbox: list[OutgoingEvent] = []
#: How many requests would have been made.
requests_made: list[int] = [0]
_lock = threading.Lock()


class LocmemBackend(BaseBackend):
    def trigger(self, event: OutgoingEvent) -> None:
        with _lock:
            outbox.append(event)
            requests_made[0] += 1

    def trigger_batch(self, events: list[OutgoingEvent]) -> None:
        with _lock:
            outbox.extend(events)
            requests_made[0] += 1


def clear() -> None:
    with _lock:
        outbox.clear()
        requests_made[0] = 0
