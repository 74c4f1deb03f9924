"""Keeps events in memory, for tests: assert on ``outbox`` like ``mail.outbox``."""

from __future__ import annotations

import threading

from .base import BaseBackend, OutgoingEvent

#: Every event "sent" through a LocmemBackend, in order. One entry per
#: (event, channel) chunk as it would have gone to the server.
outbox: list[OutgoingEvent] = []
_requests = 0  # how many requests would have been made (see request_count)
_lock = threading.Lock()


class LocmemBackend(BaseBackend):
    def trigger(self, event: OutgoingEvent) -> None:
        global _requests
        with _lock:
            outbox.append(event)
            _requests += 1

    def trigger_batch(self, events: list[OutgoingEvent]) -> None:
        global _requests
        with _lock:
            outbox.extend(events)
            _requests += 1


def request_count() -> int:
    """How many requests to the server the events in ``outbox`` would have taken."""
    return _requests


def clear() -> None:
    global _requests
    with _lock:
        outbox.clear()
        _requests = 0
