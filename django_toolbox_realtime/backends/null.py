"""Discards events (validation still runs)."""

from __future__ import annotations

from .base import BaseBackend, OutgoingEvent


class NullBackend(BaseBackend):
    def trigger(self, event: OutgoingEvent) -> None:
        return None

    def trigger_batch(self, events: list[OutgoingEvent]) -> None:
        return None
