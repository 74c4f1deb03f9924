"""Writes events to the ``django_toolbox_realtime.events`` logger instead of sending them."""

from __future__ import annotations

import logging

from .base import BaseBackend, OutgoingEvent

logger = logging.getLogger("django_toolbox_realtime.events")


class LogBackend(BaseBackend):
    def trigger(self, event: OutgoingEvent) -> None:
        logger.info(
            "event %s %r on %s: %s", event.id, event.name, ",".join(event.channels), event.data
        )

    def trigger_batch(self, events: list[OutgoingEvent]) -> None:
        for event in events:
            self.trigger(event)
