"""Counts messages published today, for the daily budget shown by health.

Every process adds to the same number (``models.usage``): in the default cache
when every process shares it atomically (Redis, Memcached), else in the
database (``USAGE_COUNTER``), so events sent by a worker, ``manage.py shell`` or
``realtime_trigger`` count like those of the web server. A message is one event
published on one channel, as Pusher bills it on publish.

A database count is buffered in the process and written at most once per
:data:`FLUSH_SECONDS` (and at exit), outside any transaction: a publish costs a
database write (a commit, ~2-4 ms) at most once a second, not every time. This
process's unwritten count is included in :func:`messages_today`; other processes
see it within a second. A process killed with SIGKILL loses at most that second.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

from django.db import connections, router

from ..conf import realtime_settings
from ..models.usage import UsageCounter, add_count, counts_in_cache, read_total

logger = logging.getLogger("django_toolbox_realtime.usage")

NAME = "messages"
_TTL = 2 * 24 * 3600
#: Days of database counts kept (today and the days before it).
_KEEP_DAYS = 2

#: Seconds between two database writes of this process's count.
FLUSH_SECONDS = 1.0

__all__ = [
    "Budget",
    "counts_in_cache",
    "discard_unwritten",
    "flush",
    "messages_today",
    "record_messages",
    "todays_budget",
]

# Counts not yet written to the database, by day (ISO date); when they were last written.
_unwritten: dict[str, int] = {}
_written_at = 0.0
_lock = threading.Lock()


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def record_messages(count: int) -> None:
    """Add ``count`` to today's number. Never raises: counting must not block delivery."""
    if count <= 0:
        return
    day = _today().isoformat()
    try:
        in_cache = counts_in_cache()
    except Exception:
        in_cache = False
    if in_cache:
        _write(day, count)
        return
    with _lock:
        _unwritten[day] = _unwritten.get(day, 0) + count
        due = time.monotonic() - _written_at >= FLUSH_SECONDS
    if due and not _in_transaction():
        flush()


def flush() -> None:
    """Write this process's buffered counts to the database now."""
    global _written_at
    with _lock:
        counts = dict(_unwritten)
        _unwritten.clear()
        _written_at = time.monotonic()
    for day, count in counts.items():
        _write(day, count)


def discard_unwritten() -> None:
    """Drop this process's buffered counts (tests: each test starts from zero, as
    its database rows are rolled back)."""
    global _written_at
    with _lock:
        _unwritten.clear()
        _written_at = 0.0


def _in_transaction() -> bool:
    # A write inside the caller's transaction would be lost with its rollback.
    return bool(connections[router.db_for_write(UsageCounter)].in_atomic_block)


def _write(day: str, count: int) -> None:
    try:
        add_count(
            NAME,
            day,
            count,
            ttl=_TTL,
            sharded=True,
            keep_from=(dt.date.fromisoformat(day) - dt.timedelta(days=_KEEP_DAYS)).isoformat(),
        )
    except Exception:  # a cache or database outage must not fail a delivered event
        logger.warning("Could not count %d message(s).", count, exc_info=True)


def messages_today() -> int:
    day = _today().isoformat()
    with _lock:
        unwritten = _unwritten.get(day, 0)
    try:
        return read_total(NAME, [day]) + unwritten
    except Exception:
        logger.warning("Could not read today's message count.", exc_info=True)
        return unwritten


@atexit.register
def _flush_at_exit() -> None:
    try:
        flush()
    except Exception:  # the interpreter is going away: nothing left to tell
        logger.debug("Could not write the message count at exit.", exc_info=True)


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
