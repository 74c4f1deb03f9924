"""A channel's history: its delivered outbox rows, read by ``(channel, seq)`` for
``GET history`` (``views.history``), within the same bounds the worker prunes to
(``HISTORY_MAX_PER_CHANNEL``, ``HISTORY_MAX_AGE_SECONDS``), so a page never shows
what the next prune deletes. Who may read it is the view's business, not this one's.

Each event is served as a client received it: the payload with its ``_rt``
envelope (``envelope.wrap``), decoded. Three queries per page, whatever its size.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Min
from django.utils import timezone

from ..conf import SETTINGS_NAME, realtime_settings
from ..exceptions import RealtimeConfigurationError, RealtimeValidationError
from ..models import DeliveryLane, OutboxEvent
from ..validation import is_int
from . import envelope

#: Digits ``after`` may have (a sequence number is a 64-bit counter; 18 digits
#: always fit in one, and any real channel's count).
MAX_AFTER_DIGITS = 18
_AFTER_RE = re.compile(rf"\A[0-9]{{1,{MAX_AFTER_DIGITS}}}\Z")
_LIMIT_RE = re.compile(r"\A[0-9]{1,9}\Z")


@dataclass(frozen=True)
class Page:
    """One page of a channel's history, in sequence order."""

    channel: str
    events: list[dict[str, Any]] = field(default_factory=list)
    #: The ``after`` for the next page: the last seq served, or the given ``after``.
    next_after: int = 0
    #: Whether more events follow this page (ask again with ``after=next_after``).
    truncated: bool = False
    #: The oldest seq still kept, or None: above ``after + 1``, events were pruned.
    oldest_seq: int | None = None
    #: The last seq given on the channel (delivered or on its way), None when none
    #: was: a client with no event yet takes it as its position.
    last_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "events": self.events,
            "next_after": self.next_after,
            "truncated": self.truncated,
            "oldest_seq": self.oldest_seq,
            "last_seq": self.last_seq,
        }


def page_max() -> int:
    """``HISTORY_PAGE_MAX``, checked: the most events in one page (and the default)."""
    value = realtime_settings.HISTORY_PAGE_MAX
    if not is_int(value) or value < 1:
        raise RealtimeConfigurationError(
            f"{SETTINGS_NAME}['HISTORY_PAGE_MAX'] must be a positive integer, got {value!r}."
        )
    return value


def parse_after(value: str | None) -> int:
    """The ``after`` query parameter: absent is 0 (the whole history)."""
    if value is None:
        return 0
    if not _AFTER_RE.match(value):
        raise RealtimeValidationError(
            "Parameter 'after' must be a non-negative integer of at most "
            f"{MAX_AFTER_DIGITS} digits (the last _rt.seq received); omit it for the "
            "whole history.",
            rule="history_after",
        )
    return int(value)


def parse_limit(value: str | None) -> int:
    """The ``limit`` query parameter: 1..HISTORY_PAGE_MAX, absent is HISTORY_PAGE_MAX."""
    maximum = page_max()
    if value is None:
        return maximum
    if not _LIMIT_RE.match(value) or not 1 <= int(value) <= maximum:
        raise RealtimeValidationError(
            f"Parameter 'limit' must be an integer 1-{maximum} "
            f"({SETTINGS_NAME}['HISTORY_PAGE_MAX']).",
            rule="history_limit",
            limit=maximum,
        )
    return int(value)


def _decoded(row: OutboxEvent) -> Any:
    sent = envelope.wrap(row.data, row.event_id, int(row.seq or 0))
    try:
        return json.loads(sent)
    except ValueError:  # never written by publish(); served as it is rather than fail
        return sent


def _event(row: OutboxEvent) -> dict[str, Any]:
    delivered_at = row.delivered_at
    return {
        "id": row.event_id,
        "seq": row.seq,
        "event": row.name,
        "data": _decoded(row),
        "delivered_at": delivered_at.isoformat() if delivered_at else None,
    }


def _cutoff(max_age: float) -> dt.datetime:
    """The oldest ``delivered_at`` kept (the earliest date for an age too large)."""
    try:
        return timezone.now() - dt.timedelta(seconds=max_age)
    except OverflowError:
        return dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def read(channel: str, after: int = 0, limit: int | None = None, using: str = "default") -> Page:
    """The delivered events of ``channel`` with a seq above ``after``, at most
    ``limit`` (HISTORY_PAGE_MAX when None), oldest first."""
    limit = page_max() if limit is None else limit
    keep = int(realtime_settings.HISTORY_MAX_PER_CHANNEL)
    cutoff = _cutoff(float(realtime_settings.HISTORY_MAX_AGE_SECONDS))
    last_seq = (
        DeliveryLane.objects.using(using)
        .filter(channel=channel)
        .values_list("last_seq", flat=True)
        .first()
    )
    if last_seq is None or keep <= 0:
        return Page(channel, next_after=after, last_seq=last_seq)
    kept = OutboxEvent.objects.using(using).filter(
        channel=channel,
        state=OutboxEvent.State.DELIVERED,
        seq__gt=max(0, last_seq - keep),  # a huge bound stays within the column
        delivered_at__gte=cutoff,
    )
    rows = list(
        kept.filter(seq__gt=after)
        .order_by("seq")
        .only("event_id", "seq", "name", "data", "delivered_at")[: limit + 1]
    )
    oldest = kept.aggregate(oldest=Min("seq"))["oldest"]
    served = rows[:limit]
    return Page(
        channel,
        events=[_event(row) for row in served],
        next_after=int(served[-1].seq or 0) if served else after,
        truncated=len(rows) > limit,
        oldest_seq=oldest,
        last_seq=last_seq,
    )
