"""A claim's reads (``lanes.claim``): the lanes of some channels that no other
sender holds, locked, each with its first waiting rows in send order.

On PostgreSQL this is ONE statement: the lanes locked with ``FOR UPDATE SKIP
LOCKED`` in a CTE, their rows joined ``LATERAL`` with a ``LIMIT`` each, and the
transaction's ``synchronous_commit`` turned off in the same round trip (compiled
once per number of channels). It is the first try's critical path after commit:
three ORM statements cost ~1 ms more of Python and round trips per event there.
Elsewhere (SQLite) the ORM: the write lock first, then a ``UNION ALL`` of each
lane's ``LIMIT`` query.

Send order: numbered rows by ``seq``, then the others by ``id``. Not plain ``id``
order: on PostgreSQL a row gets its id at INSERT but is seen at COMMIT, so a row
with a lower id can appear after a later one was numbered and leased; in ``id``
order it would overtake that one (be sent beside it, or before its retry) with
the next number.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..db import named, params
from ..models import DeliveryLane, OutboxEvent
from .outbox import ensure_lanes

PENDING = OutboxEvent.State.PENDING
#: A waiting row's values, in this order, then ``next_attempt_at`` and ``created_at``.
FIELDS = ("pk", "event_id", "name", "data", "socket_id", "seq", "attempts")
_SEQ = FIELDS.index("seq")


@dataclass
class LockedLane:
    pk: int
    channel: str
    last_seq: int
    #: Its first waiting rows in send order: FIELDS + (next_attempt_at, created_at).
    waiting: list[tuple[Any, ...]] = field(default_factory=list)


def no_flush_wait(alias: str) -> None:
    """PostgreSQL: let this transaction's commit return before its WAL is flushed.
    A claim or an outcome lost to a crash only means an event sent again (same id
    and seq), and the sender stops competing with the users' commits for flushes."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def locked_lanes(alias: str, channels: list[str], count: int) -> list[LockedLane]:
    """The lanes of ``channels`` that no other sender holds, locked until the
    transaction ends, in the order given, each with its first ``count`` waiting
    rows. A lane that does not exist yet is created first (insert-or-ignore in a
    savepoint): only then, not on every round."""
    vendor = connections[alias].vendor
    if vendor in _ONE_STATEMENT:
        read = _ONE_STATEMENT[vendor]
        found = read(alias, channels, count)
        missing = [name for name in channels if name not in found]
        if missing:  # not created yet, or held by another sender
            ensure_lanes(alias, missing)
            found.update(read(alias, missing, count))
    else:
        no_flush_wait(alias)
        found = _orm(alias, channels, count)
    return [found[name] for name in channels if name in found]


# --- PostgreSQL: one statement ---------------------------------------------------------


def _column(model: Any, name: str) -> str:
    return str(model._meta.get_field(name).column)


@lru_cache(maxsize=64)
def _postgresql_sql(alias: str, channels: int) -> str:
    q = connections[alias].ops.quote_name
    lane, outbox = q(DeliveryLane._meta.db_table), q(OutboxEvent._meta.db_table)
    row_columns = [*(name if name != "pk" else "id" for name in FIELDS)]
    row_columns += ["next_attempt_at", "created_at"]
    picked = ", ".join(f"o.{q(_column(OutboxEvent, name))}" for name in row_columns)
    shown = ", ".join(f"w.{q(_column(OutboxEvent, name))}" for name in row_columns)
    channel, state = q(_column(OutboxEvent, "channel")), q(_column(OutboxEvent, "state"))
    seq, pk = q(_column(OutboxEvent, "seq")), q(_column(OutboxEvent, "id"))
    lane_channel = q(_column(DeliveryLane, "channel"))
    lane_seq = q(_column(DeliveryLane, "last_seq"))
    lane_pk = q(_column(DeliveryLane, "id"))
    # The state is written as a literal so that the planner can use the partial
    # indexes on pending rows (their predicate is state = 'pending'). Numbered rows
    # (seq order) and new ones (id order) are read apart, each from its own index
    # with its LIMIT: one ORDER BY over both would read a lane's whole backlog.
    where = (
        f"SELECT {picked} FROM {outbox} o "  # noqa: S608 (model names)
        f"WHERE o.{channel} = l.channel AND o.{state} = '{PENDING.value}'"
    )
    return named(
        f"WITH l AS MATERIALIZED (SELECT {lane_pk} AS id, "  # noqa: S608 (model names)
        f"{lane_channel} AS channel, {lane_seq} AS last_seq "
        f"FROM {lane} WHERE {lane_channel} IN ({', '.join(['%s'] * channels)}) "
        f"FOR UPDATE SKIP LOCKED) "
        f"SELECT l.id, l.channel, l.last_seq, {shown}, "
        f"set_config('synchronous_commit', 'off', true) "
        f"FROM l LEFT JOIN LATERAL (({where} AND o.{seq} IS NOT NULL ORDER BY o.{seq} LIMIT %s) "
        f"UNION ALL ({where} AND o.{seq} IS NULL ORDER BY o.{pk} LIMIT %s)) w ON true"
    )


def _postgresql(alias: str, channels: list[str], count: int) -> dict[str, LockedLane]:
    found: dict[str, LockedLane] = {}
    with connections[alias].cursor() as cursor:
        cursor.execute(_postgresql_sql(alias, len(channels)), params([*channels, count, count]))
        for lane_pk, name, last_seq, *values in cursor.fetchall():
            lane = found.get(name)
            if lane is None:
                lane = found[name] = LockedLane(lane_pk, name, last_seq)
            if values[0] is not None:  # a lane with no waiting row joins NULLs
                *row, due, created, _ = values  # the last: set_config's answer
                lane.waiting.append((*row, _datetime(due), _datetime(created)))
    for lane in found.values():
        lane.waiting.sort(key=_send_order)
    return found


# --- SQLite: the write lock and the lanes in one statement, their rows in another --------


@lru_cache(maxsize=64)
def _sqlite_lock_sql(alias: str, channels: int) -> str:
    """Touching the lanes takes the database's write lock (claims run one at a
    time) and returns them."""
    q = connections[alias].ops.quote_name
    lane, pk = q(DeliveryLane._meta.db_table), q(_column(DeliveryLane, "id"))
    channel, last_seq = q(_column(DeliveryLane, "channel")), q(_column(DeliveryLane, "last_seq"))
    return named(
        f"UPDATE {lane} SET {last_seq} = {last_seq} "  # noqa: S608 (model names)
        f"WHERE {channel} IN ({', '.join(['%s'] * channels)}) "
        f"RETURNING {pk}, {channel}, {last_seq}"
    )


@lru_cache(maxsize=64)
def _sqlite_waiting_sql(alias: str, lanes: int) -> str:
    """Each lane's first rows: a ``UNION ALL`` of one ``LIMIT`` query per lane."""
    q = connections[alias].ops.quote_name
    outbox = q(OutboxEvent._meta.db_table)
    columns = [*(name if name != "pk" else "id" for name in FIELDS)]
    columns += ["next_attempt_at", "created_at", "channel"]
    picked = ", ".join(q(_column(OutboxEvent, name)) for name in columns)
    channel, state = q(_column(OutboxEvent, "channel")), q(_column(OutboxEvent, "state"))
    seq, pk = q(_column(OutboxEvent, "seq")), q(_column(OutboxEvent, "id"))
    where = (
        f"SELECT * FROM (SELECT {picked} FROM {outbox} "  # noqa: S608 (model names)
        f"WHERE {channel} = %s AND {state} = '{PENDING.value}'"
    )
    one = (  # numbered rows by seq, new ones by id: each from its index, with its LIMIT
        f"{where} AND {seq} IS NOT NULL ORDER BY {seq} LIMIT %s) "
        f"UNION ALL {where} AND {seq} IS NULL ORDER BY {pk} LIMIT %s)"
    )
    return named(" UNION ALL ".join([one] * lanes))


def _sqlite(alias: str, channels: list[str], count: int) -> dict[str, LockedLane]:
    with connections[alias].cursor() as cursor:
        cursor.execute(_sqlite_lock_sql(alias, len(channels)), params(channels))
        found = {name: LockedLane(pk, name, last_seq) for pk, name, last_seq in cursor.fetchall()}
        if not found:
            return found
        values = params(v for name in found for v in (name, count, name, count))
        cursor.execute(_sqlite_waiting_sql(alias, len(found)), values)
        rows = cursor.fetchall()
    for *row, due, created, name in sorted(rows, key=_send_order):
        found[name].waiting.append((*row, _datetime(due), _datetime(created)))
    return found


def _datetime(value: Any) -> dt.datetime:
    """A datetime column read with plain SQL, as the ORM would give it: SQLite
    stores text (UTC when USE_TZ); PostgreSQL answers aware datetimes."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if settings.USE_TZ and timezone.is_naive(value):
        return timezone.make_aware(value, dt.timezone.utc)
    if not settings.USE_TZ and timezone.is_aware(value):
        return timezone.make_naive(value)
    return value


_ONE_STATEMENT: dict[str, Callable[[str, list[str], int], dict[str, LockedLane]]] = {
    "postgresql": _postgresql
}
if sqlite3.sqlite_version_info >= (3, 35):  # UPDATE ... RETURNING
    _ONE_STATEMENT["sqlite"] = _sqlite


# --- elsewhere: the ORM ------------------------------------------------------------------


def _orm(alias: str, channels: list[str], count: int) -> dict[str, LockedLane]:
    lanes = DeliveryLane.objects.using(alias)
    if connections[alias].features.has_select_for_update_skip_locked:
        free = lanes.select_for_update(skip_locked=True)
        rows = list(free.filter(channel__in=channels))
        missing = [name for name in channels if name not in {lane.channel for lane in rows}]
        if missing:
            ensure_lanes(alias, missing)
            rows += list(free.filter(channel__in=missing))
    else:
        lanes.filter(channel__in=channels).update(last_seq=F("last_seq"))  # the write lock
        rows = list(lanes.filter(channel__in=channels))
        missing = [name for name in channels if name not in {lane.channel for lane in rows}]
        if missing:
            ensure_lanes(alias, missing)
            rows += list(lanes.filter(channel__in=missing))
    found = {lane.channel: LockedLane(lane.pk, lane.channel, lane.last_seq) for lane in rows}
    for name, waiting in _orm_waiting(alias, list(found), count).items():
        found[name].waiting = waiting
    return found


def _orm_waiting(alias: str, names: list[str], count: int) -> dict[str, list[tuple[Any, ...]]]:
    """The first ``count`` pending rows of each lane in send order; one query (a
    ``UNION ALL`` of the lanes' ``LIMIT`` queries) where the database allows it."""
    rows = OutboxEvent.objects.using(alias)

    def first(name: str) -> QuerySet[Any]:
        lane = rows.filter(channel=name, state=PENDING)
        lane = lane.order_by(F("seq").asc(nulls_last=True), "pk")
        return lane.values_list(*FIELDS, "next_attempt_at", "created_at", "channel")[:count]

    if not names:
        return {}
    if len(names) > 1 and connections[alias].features.supports_slicing_ordering_in_compound:
        found = list(first(names[0]).union(*(first(name) for name in names[1:]), all=True))
    else:
        found = [row for name in names for row in first(name)]
    by_lane: dict[str, list[tuple[Any, ...]]] = {}
    for row in sorted(found, key=_send_order):
        by_lane.setdefault(row[-1], []).append(row[:-1])
    return by_lane


def _send_order(values: tuple[Any, ...]) -> tuple[bool, int, int]:
    seq = values[_SEQ]
    return (seq is None, seq or 0, values[0])
