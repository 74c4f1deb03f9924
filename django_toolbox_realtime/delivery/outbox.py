"""The outbox table's statements outside a send: the write path (in the caller's
transaction), the admin's actions, pruning and the backlog health reads.

The write path is the one statement a request pays for an event: a multi-row
INSERT compiled once per shape and run through the connection's cursor (the ORM
would build a model instance per row and compile the query on every call). It
never touches the lanes, so a sender holding a lane can never make it wait.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.db import connections, router, transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from ..backends import OutgoingEvent
from ..conf import realtime_settings
from ..db import column, named, no_flush_wait, params
from ..models import DeliveryLane, OutboxEvent

PENDING = OutboxEvent.State.PENDING
#: Rows in one INSERT statement at most (SQLite allows 32,766 parameters).
INSERT_ROWS = 500
_COLUMNS = (
    "event_id",
    "channel",
    "name",
    "data",
    "socket_id",
    "state",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "source",
)


def outbox_database() -> str:
    """The database alias the outbox is written to by default (the router's)."""
    return router.db_for_write(OutboxEvent) or "default"


def _column(name: str) -> str:
    return column(OutboxEvent, name)


@lru_cache(maxsize=64)
def _insert_sql(alias: str, count: int) -> tuple[str, bool]:
    """The INSERT of ``count`` rows, and whether it returns their ids."""
    connection = connections[alias]
    q = connection.ops.quote_name
    one = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    returning = bool(connection.features.can_return_rows_from_bulk_insert)
    suffix = f" RETURNING {q(_column('id'))}" if returning else ""
    return (
        named(
            f"INSERT INTO {q(OutboxEvent._meta.db_table)} "  # noqa: S608 (model names)
            f"({', '.join(q(_column(c)) for c in _COLUMNS)}) "
            f"VALUES {', '.join([one] * count)}{suffix}"
        ),
        returning,
    )


def insert_rows(
    alias: str, events: Sequence[OutgoingEvent], source: str, now: dt.datetime
) -> list[int]:
    """Write one pending row per (event, channel), due now; return their ids (empty
    when the database cannot return them)."""
    connection = connections[alias]
    stamp = connection.ops.adapt_datetimefield_value(now)
    source = source[:255]
    rows = [
        (e.id, channel, e.name, e.data, e.socket_id or "", PENDING, 0, stamp, "", stamp, source)
        for e in events
        for channel in e.channels
    ]
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_ROWS):
            chunk = rows[start : start + INSERT_ROWS]
            sql, returning = _insert_sql(alias, len(chunk))
            cursor.execute(sql, params(value for row in chunk for value in row))
            if returning:
                ids += [int(record[0]) for record in cursor.fetchall()]
    return ids


def delete_pending(alias: str, ids: Iterable[int]) -> int:
    """Delete the pending rows ``ids`` (events replaced in their own transaction)."""
    ids = list(ids)
    if not ids:
        return 0
    return OutboxEvent.objects.using(alias).filter(pk__in=ids, state=PENDING).delete()[0]


def ensure_lanes(alias: str, channels: Iterable[str]) -> None:
    """Create the lanes of ``channels`` that do not exist yet (insert-or-ignore, in
    a sender's transaction, never the user's: a write path that touched a lane
    could wait for a sender holding it)."""
    names = sorted(set(channels))
    if not names:
        return
    connection = connections[alias]
    ignore = connection.features.supports_ignore_conflicts
    with transaction.atomic(using=alias):
        if ignore:
            DeliveryLane.objects.using(alias).bulk_create(
                [DeliveryLane(channel=name) for name in names], ignore_conflicts=True
            )
            return
        known = set(
            DeliveryLane.objects.using(alias)
            .filter(channel__in=names)
            .values_list("channel", flat=True)
        )
        DeliveryLane.objects.using(alias).bulk_create(
            [DeliveryLane(channel=name) for name in names if name not in known]
        )


# --- the admin's actions ------------------------------------------------------------


def retry_now(rows: QuerySet[OutboxEvent]) -> int:
    """Make ``rows`` (waiting, refused or dead ones) due now; their tries are kept,
    so a dead-lettered event gets one more try."""
    waiting = rows.filter(state__in=[PENDING, OutboxEvent.State.FAILED, OutboxEvent.State.DEAD])
    return waiting.update(state=PENDING, next_attempt_at=timezone.now())


def discard(rows: QuerySet[OutboxEvent]) -> int:
    """Stop ``rows`` that are not sent yet from ever being sent."""
    unsent = rows.exclude(state__in=[OutboxEvent.State.DELIVERED, OutboxEvent.State.DISCARDED])
    return unsent.update(state=OutboxEvent.State.DISCARDED)


# --- pruning --------------------------------------------------------------------


def prune(alias: str, now: dt.datetime | None = None) -> int:
    """Delete sent rows beyond ``HISTORY_MAX_PER_CHANNEL`` (per channel) or older
    than ``HISTORY_MAX_AGE_SECONDS``, and discarded rows older than that age.
    Refused and dead rows stay until discarded. Returns how many were deleted."""
    now = now or timezone.now()
    rows = OutboxEvent.objects.using(alias)
    cutoff = now - dt.timedelta(seconds=float(realtime_settings.HISTORY_MAX_AGE_SECONDS))
    keep = int(realtime_settings.HISTORY_MAX_PER_CHANNEL)
    # One transaction, not one per DELETE (each a commit, and on PostgreSQL a WAL
    # flush): a pruning lost to a crash is simply redone.
    with transaction.atomic(using=alias):
        no_flush_wait(alias)
        total = rows.filter(state=OutboxEvent.State.DELIVERED, delivered_at__lt=cutoff).delete()[0]
        total += rows.filter(state=OutboxEvent.State.DISCARDED, created_at__lt=cutoff).delete()[0]
        full = DeliveryLane.objects.using(alias).filter(last_seq__gt=keep)
        for channel, last_seq in full.values_list("channel", "last_seq"):
            total += rows.filter(
                channel=channel, state=OutboxEvent.State.DELIVERED, seq__lte=last_seq - keep
            ).delete()[0]
    return total


# --- the backlog (health) ------------------------------------------------------------


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_pending_seconds: float | None
    failed: int
    dead: int

    def verdict(self) -> tuple[str, str]:
        """``("ok" | "warning" | "error", message)`` against the HEALTH_DELIVERY_*
        (warning, error) thresholds; the worst of the three figures wins."""
        s = realtime_settings
        figures = [
            (self.pending, s.HEALTH_DELIVERY_PENDING, f"{self.pending} event(s) waiting"),
            (
                self.oldest_pending_seconds or 0,
                s.HEALTH_DELIVERY_AGE_SECONDS,
                f"the oldest waiting event is {self.oldest_pending_seconds or 0:.0f} s old "
                "(is manage.py realtime_deliver running?)",
            ),
            (
                self.failed + self.dead,
                s.HEALTH_DELIVERY_FAILED,
                f"{self.failed} event(s) refused by the server and {self.dead} given up "
                "(see the outbox in the admin)",
            ),
        ]
        worst, messages = "ok", []
        for value, (warning, error), message in figures:
            level = "error" if value >= error else "warning" if value >= warning else ""
            if level:
                messages.append(message)
                worst = "error" if "error" in (level, worst) else level
        return worst, "; ".join(messages) or f"{self.pending} event(s) waiting"

    def details(self) -> dict[str, object]:
        return {
            "pending": self.pending,
            "oldest_pending_seconds": self.oldest_pending_seconds,
            "failed": self.failed,
            "dead": self.dead,
        }


def backlog(alias: str | None = None, now: dt.datetime | None = None) -> Backlog:
    """Events waiting, the age of the oldest one, and refused and dead ones."""
    now = now or timezone.now()
    rows = OutboxEvent.objects.using(alias or outbox_database())
    waiting = rows.filter(state=PENDING).aggregate(count=Count("pk"), oldest=Min("created_at"))
    problems = rows.filter(state__in=[OutboxEvent.State.FAILED, OutboxEvent.State.DEAD])
    counts = problems.aggregate(
        failed=Count("pk", filter=Q(state=OutboxEvent.State.FAILED)),
        dead=Count("pk", filter=Q(state=OutboxEvent.State.DEAD)),
    )
    oldest = waiting["oldest"]
    return Backlog(
        pending=waiting["count"],
        oldest_pending_seconds=(
            round(max(0.0, (now - oldest).total_seconds()), 1) if oldest else None
        ),
        failed=counts["failed"],
        dead=counts["dead"],
    )
