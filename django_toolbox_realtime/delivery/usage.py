"""Counts messages published today, for the daily budget shown by health.

Every process adds to the same number (``models.usage``): in the default cache
when every process shares it atomically (Redis, Memcached), else in the
database (``USAGE_COUNTER``), so events sent by a worker, ``manage.py shell`` or
``realtime_trigger`` count like those of the web server. A message is one event
published on one channel, as Pusher bills it on publish.

A database count is written in the caller's transaction (a savepoint): events
sent from a transaction that is rolled back are not counted.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from ..conf import realtime_settings
from ..models.usage import add_count, counts_in_cache, read_total

logger = logging.getLogger("django_toolbox_realtime.usage")

NAME = "messages"
_TTL = 2 * 24 * 3600
#: Days of database counts kept (today and the days before it).
_KEEP_DAYS = 2

__all__ = ["Budget", "counts_in_cache", "messages_today", "record_messages", "todays_budget"]


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def record_messages(count: int) -> None:
    """Add ``count`` to today's number. Never raises: counting must not block delivery."""
    if count <= 0:
        return
    today = _today()
    try:
        add_count(
            NAME,
            today.isoformat(),
            count,
            ttl=_TTL,
            sharded=True,
            keep_from=(today - dt.timedelta(days=_KEEP_DAYS)).isoformat(),
        )
    except Exception:  # a cache or database outage must not fail a delivered event
        logger.warning("Could not count %d message(s).", count, exc_info=True)


def messages_today() -> int:
    try:
        return read_total(NAME, [_today().isoformat()])
    except Exception:
        logger.warning("Could not read today's message count.", exc_info=True)
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
    """Today's count (one read) against ``DAILY_MESSAGE_BUDGET``."""
    return Budget(messages_today(), int(realtime_settings.DAILY_MESSAGE_BUDGET))
