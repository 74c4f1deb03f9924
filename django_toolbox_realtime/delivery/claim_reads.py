"""A claim's reads (``lanes.claim``): the lanes of some channels that no other
sender holds, locked, each with its first waiting rows in send order.

Two statements, whatever the number of lanes. On PostgreSQL the first locks the
lanes (``FOR UPDATE SKIP LOCKED``, turning the transaction's
``synchronous_commit`` off in the same round trip) and the second reads their
rows (``LATERAL``). Not one statement: in READ COMMITTED a statement reads rows
as of its start, but ``FOR UPDATE`` returns the newest version of the lane it
locks. A claim that did both at once could start, then lock a lane another
claim had just numbered and committed, and see that claim's ``last_seq`` with
the rows as they were before: still unnumbered, so numbered again (the same
event sent with two numbers; tests/delivery/test_claim_race_postgres.py). The
second statement's snapshot is taken once the locks are held. On SQLite (3.35+)
``UPDATE ... RETURNING`` takes the write lock (claims run one at a time) and the
lanes, and one ``UNION ALL`` reads their rows. Both are compiled once per number
of channels: this is the first try's critical path after commit, where the
ORM costs more (a one-row claim: 1.38 ms against 2.14 ms with the ORM on
PostgreSQL, 0.13 against 0.91 ms on SQLite). Elsewhere, the ORM (two statements
as well: the lanes locked, then their rows).

Send order: numbered rows by ``seq``, then the others by ``id``. Not plain ``id``
order: on PostgreSQL a row gets its id at INSERT but is seen at COMMIT, so a row
with a lower id can appear after a later one was numbered and leased; in ``id``
order it would overtake that one (be sent beside it, or before its retry) with
the next number. The two kinds are read apart, each from its own partial index
with its ``LIMIT``: one ``ORDER BY`` over both would read a lane's whole backlog.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db import connections
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet

from ..db import named, params, quoter
from ..models import DeliveryLane, OutboxEvent
from .outbox import ensure_lanes

PENDING = OutboxEvent.State.PENDING
#: A waiting row's values, in this order, then whether it is due (see ``due_sql``).
FIELDS = ("pk", "event_id", "name", "data", "socket_id", "seq", "attempts")
_SEQ = FIELDS.index("seq")


@dataclass
class LockedLane:
    pk: int
    channel: str
    last_seq: int
    #: Its first waiting rows in send order: FIELDS + (due,).
    waiting: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class Due:
    """When a row is due: ``next_attempt_at <= now``, and, with ``fresh_before``,
    tried already or written before it (younger rows are left to their first try)."""

    now: dt.datetime
    fresh_before: dt.datetime | None = None

    def params(self, alias: str) -> list[Any]:
        """The three values of ``due_sql``, adapted for the database."""
        adapt = connections[alias].ops.adapt_datetimefield_value
        fresh = self.fresh_before
        return [adapt(self.now), fresh is None, adapt(fresh or self.now)]


def locked_lanes(alias: str, channels: list[str], count: int, due: Due) -> list[LockedLane]:
    """The lanes of ``channels`` that no other sender holds, locked until the
    transaction ends, in the order given, each with its first waiting rows (at
    least ``count`` when there are) and whether each is ``due``. A lane that does
    not exist yet is created first (insert-or-ignore in a savepoint): only then,
    not on every round."""
    read = _READS.get(connections[alias].vendor, _orm)
    found = read(alias, channels, count, due)
    missing = [name for name in channels if name not in found]
    if missing:  # not created yet, or held by another sender
        ensure_lanes(alias, missing)
        found.update(read(alias, missing, count, due))
    return [found[name] for name in channels if name in found]


def due_sql(alias: str) -> str:
    """Whether a row is due, computed by the database (three placeholders: now,
    "no freshness rule", fresh_before): reading the two datetimes instead cost
    more than the rest of the claim's reading (Django's time-zone-aware loader
    parses each one in Python)."""
    c = quoter(alias, OutboxEvent)
    fresh = f"{c('attempts')} > 0 OR %s OR {c('created_at')} <= %s"
    return f"({c('next_attempt_at')} <= %s AND ({fresh}))"


def _first_rows_sql(alias: str, channel: str) -> str:
    """The first waiting rows of the lane named by ``channel`` (SQL), each row
    FIELDS + due + its channel: numbered rows by seq, then new ones by id, each
    part with its LIMIT (placeholders: the three of ``due_sql`` then the LIMIT,
    twice). The state is a literal so that the planner can use the partial
    indexes on pending rows (their predicate is state = 'pending')."""
    c = quoter(alias, OutboxEvent)
    table = connections[alias].ops.quote_name(OutboxEvent._meta.db_table)
    select = (
        f"SELECT {', '.join(c(name) for name in FIELDS)}, {due_sql(alias)} AS due, "  # noqa: S608
        f"{c('channel')} FROM {table} "
        f"WHERE {c('channel')} = {channel} AND {c('state')} = '{PENDING.value}' AND {c('seq')}"
    )
    return (
        f"SELECT * FROM ({select} IS NOT NULL ORDER BY {c('seq')} LIMIT %s) AS numbered "  # noqa: S608
        f"UNION ALL SELECT * FROM ({select} IS NULL ORDER BY {c('pk')} LIMIT %s) AS new"
    )


def _fill(found: dict[str, LockedLane], rows: Iterable[Sequence[Any]]) -> dict[str, LockedLane]:
    """Add ``rows`` (each FIELDS + due + its channel) to their lanes, in send order."""
    for row in rows:
        found[row[-1]].waiting.append((*row[: len(FIELDS)], bool(row[len(FIELDS)])))
    for lane in found.values():
        lane.waiting.sort(key=_send_order)
    return found


def _send_order(values: tuple[Any, ...]) -> tuple[bool, int, int]:
    seq = values[_SEQ]
    return (seq is None, seq or 0, values[0])


def _lane_columns(alias: str) -> tuple[str, str, str, str]:
    """The lane table, its id, channel and last_seq columns (quoted)."""
    c = quoter(alias, DeliveryLane)
    table = connections[alias].ops.quote_name(DeliveryLane._meta.db_table)
    return table, c("pk"), c("channel"), c("last_seq")


# --- PostgreSQL: the lanes locked, then their rows ---------------------------------------


@lru_cache(maxsize=64)
def _postgresql_lock_sql(alias: str, channels: int) -> str:
    lane, pk, channel, last_seq = _lane_columns(alias)
    return named(
        f"SELECT {pk}, {channel}, {last_seq}, "  # noqa: S608 (model names)
        f"set_config('synchronous_commit', 'off', true) FROM {lane} "
        f"WHERE {channel} IN ({', '.join(['%s'] * channels)}) FOR UPDATE SKIP LOCKED"
    )


@lru_cache(maxsize=16)
def _postgresql_rows_sql(alias: str) -> str:
    return named(
        "SELECT w.* FROM unnest(%s::varchar[]) AS l(channel) "  # noqa: S608 (model names)
        f"CROSS JOIN LATERAL ({_first_rows_sql(alias, 'l.channel')}) w"
    )


def _locked(cursor: Any, sql: str, channels: list[str]) -> dict[str, LockedLane]:
    """Run a lock statement of ``channels``; its rows start (pk, channel, last_seq)."""
    cursor.execute(sql, params(channels))
    return {row[1]: LockedLane(row[0], row[1], row[2]) for row in cursor.fetchall()}


def _postgresql(alias: str, channels: list[str], count: int, due: Due) -> dict[str, LockedLane]:
    with connections[alias].cursor() as cursor:
        found = _locked(cursor, _postgresql_lock_sql(alias, len(channels)), channels)
        if found:
            part = [*due.params(alias), count]
            cursor.execute(_postgresql_rows_sql(alias), params([list(found), *part, *part]))
            _fill(found, cursor.fetchall())
        return found


# --- SQLite: the write lock and the lanes in one statement, their rows in another --------


@lru_cache(maxsize=64)
def _sqlite_lock_sql(alias: str, channels: int) -> str:
    """Touching the lanes takes the database's write lock and returns them."""
    lane, pk, channel, last_seq = _lane_columns(alias)
    return named(
        f"UPDATE {lane} SET {last_seq} = {last_seq} "  # noqa: S608 (model names)
        f"WHERE {channel} IN ({', '.join(['%s'] * channels)}) "
        f"RETURNING {pk}, {channel}, {last_seq}"
    )


@lru_cache(maxsize=64)
def _sqlite_waiting_sql(alias: str, lanes: int) -> str:
    return named(" UNION ALL ".join([_first_rows_sql(alias, "%s")] * lanes))


def _sqlite(alias: str, channels: list[str], count: int, due: Due) -> dict[str, LockedLane]:
    with connections[alias].cursor() as cursor:
        found = _locked(cursor, _sqlite_lock_sql(alias, len(channels)), channels)
        if found:
            # Each part: the due values, its channel (in the SELECT before WHERE), LIMIT.
            part = due.params(alias)
            values = params(v for name in found for v in (*part, name, count, *part, name, count))
            cursor.execute(_sqlite_waiting_sql(alias, len(found)), values)
            _fill(found, cursor.fetchall())
        return found


# --- elsewhere: the ORM ------------------------------------------------------------------


def _orm(alias: str, channels: list[str], count: int, due: Due) -> dict[str, LockedLane]:
    lanes = DeliveryLane.objects.using(alias)
    if connections[alias].features.has_select_for_update_skip_locked:
        lanes = lanes.select_for_update(skip_locked=True)
    else:
        lanes.filter(channel__in=channels).update(last_seq=F("last_seq"))  # the write lock
    found = {
        lane.channel: LockedLane(lane.pk, lane.channel, lane.last_seq)
        for lane in lanes.filter(channel__in=channels)
    }
    is_due = Q(next_attempt_at__lte=due.now)
    if due.fresh_before is not None:
        is_due &= Q(attempts__gt=0) | Q(created_at__lte=due.fresh_before)
    rows = OutboxEvent.objects.using(alias).annotate(
        due=ExpressionWrapper(is_due, output_field=BooleanField())
    )

    def first(name: str) -> QuerySet[Any]:
        lane = rows.filter(channel=name, state=PENDING)
        lane = lane.order_by(F("seq").asc(nulls_last=True), "pk")
        return lane.values_list(*FIELDS, "due", "channel")[:count]

    names = list(found)
    if len(names) > 1 and connections[alias].features.supports_slicing_ordering_in_compound:
        return _fill(found, first(names[0]).union(*(first(name) for name in names[1:]), all=True))
    return _fill(found, (row for name in names for row in first(name)))


_READS: dict[str, Callable[[str, list[str], int, Due], dict[str, LockedLane]]] = {
    "postgresql": _postgresql
}
if sqlite3.sqlite_version_info >= (3, 35):  # UPDATE ... RETURNING
    _READS["sqlite"] = _sqlite
