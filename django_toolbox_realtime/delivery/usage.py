"""Counts messages published today, for the daily budget shown by health.

Counted in Django's default cache (one key per UTC day), so every process
sharing that cache (Redis, Memcached, the database cache) adds to the same
number. With the per-process local-memory cache each process counts its own.
A message is one event published on one channel, as Pusher bills it on publish.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.cache import cache

from ..conf import realtime_settings

logger = logging.getLogger("django_toolbox_realtime.usage")

_KEY = "toolbox_realtime:messages:{day}"
_TTL = 2 * 24 * 3600


def _key(day: dt.date | None = None) -> str:
    day = day or dt.datetime.now(dt.timezone.utc).date()
    return _KEY.format(day=day.isoformat())


def record_messages(count: int) -> None:
    """Add ``count`` to today's number. Never raises: counting must not block delivery."""
    if count <= 0:
        return
    key = _key()
    try:
        try:
            cache.incr(key, count)
        except ValueError:
            # Missing key: add() is atomic, so two first writers don't both win.
            if not cache.add(key, count, _TTL):
                cache.incr(key, count)
    except Exception:  # a cache outage must not fail a delivered event
        logger.warning("Could not count %d message(s) in the cache.", count, exc_info=True)


def messages_today() -> int:
    try:
        return int(cache.get(_key(), 0))
    except Exception:
        logger.warning("Could not read today's message count from the cache.", exc_info=True)
        return 0


@dataclass(frozen=True)
class Budget:
    """Today's messages against ``DAILY_MESSAGE_BUDGET``."""

    sent: int
    daily: int

    @property
    def remaining(self) -> int:
        """Messages left today, never below zero."""
        return max(0, self.daily - self.sent)


def todays_budget() -> Budget:
    """Today's count (one cache read) against ``DAILY_MESSAGE_BUDGET``."""
    return Budget(messages_today(), int(realtime_settings.DAILY_MESSAGE_BUDGET))
