"""The SQL that locks, reads, writes and deletes state rows.

The hot path of every webhook: compiling ORM queries costs several times more
than the database takes to run the few statements a webhook needs, so statements
are compiled once per shape and run through the connection's cursor
(``connection.cursor()``: Django's error translation, instrumentation and query
logging still apply).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.db import connections, router
from django.db.models.constants import OnConflict

from ..db import column, named, params
from ..models import ChannelState, PresenceMember
from ..validation import PRESENCE_PREFIX, PRIVATE_PREFIX, SERVER_TO_USER_PREFIX
from .rows import ROWS, ChannelRow, MemberRow, Row, RowConflict

#: Most rows in one INSERT statement.
INSERT_ROWS = 500


def _column(cls: type[Row], name: str) -> str:
    return column(cls.MODEL, name)


@lru_cache(maxsize=256)
def _select_sql(alias: str, kind_of_row: str, shape: tuple[tuple[str, int, int], ...]) -> str:
    """``SELECT ... FOR UPDATE`` for ``shape``: (kind, marks, marks) per condition.

    Kinds: ``name`` (channels by name), ``present_on`` (members not gone, by
    channel), ``pairs`` (members by channel and user id; a superset of the pairs,
    filtered by the caller), ``expired`` (pending leaves older than a limit).
    """
    connection = connections[alias]
    q = connection.ops.quote_name
    cls = ROWS[kind_of_row]

    def col(name: str) -> str:
        return q(_column(cls, name))

    def marks(n: int) -> str:
        return ", ".join(["%s"] * n)

    where = []
    for kind, a, b in shape:
        if kind == "name":
            where.append(f"{col('name')} IN ({marks(a)})")
        elif kind == "present_on":
            where.append(f"({col('channel')} IN ({marks(a)}) AND {col('left_at')} IS NULL)")
        elif kind == "pairs":
            where.append(f"({col('channel')} IN ({marks(a)}) AND {col('user_id')} IN ({marks(b)}))")
        elif cls is ChannelRow:  # expired
            where.append(f"({col('occupied')} = %s AND {col('vacating_at')} <= %s)")
        else:
            where.append(f"({col('left_at')} IS NULL AND {col('leaving_at')} <= %s)")
    selected = ", ".join(col(name) for name in ("pk", *cls.KEY, *cls.READ))
    order = ", ".join(col(name) for name in cls.KEY)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return named(
        f"SELECT {selected} FROM {q(cls.MODEL._meta.db_table)} "  # noqa: S608 (model names)
        f"WHERE {' OR '.join(where)} ORDER BY {order}{lock}"
    )


def select_locked(cursor: Any, cls: type[Row], parts: list[tuple[str, Any]]) -> list[Any]:
    """Rows of ``cls`` matching any of ``parts`` (see ``_select_sql``), locked in key
    order, read through ``cursor`` (a Django cursor)."""
    connection = cursor.db
    shape: list[tuple[str, int, int]] = []
    values: list[Any] = []
    for kind, given in parts:
        if kind == "pairs":
            channels, users = given
            shape.append((kind, len(channels), len(users)))
            values += channels + users
        elif kind == "expired":
            shape.append((kind, 0, 0))
            if cls is ChannelRow:
                values.append(True)
            values.append(connection.ops.adapt_datetimefield_value(given))
        else:
            shape.append((kind, len(given), 0))
            values += given
    cursor.execute(_select_sql(connection.alias, cls.KIND, tuple(shape)), params(values))
    tz = None if connection.features.supports_timezones else connection.timezone
    return [cls.from_db(record, tz) for record in cursor.fetchall()]


@lru_cache(maxsize=64)
def _update_sql(alias: str, kind_of_row: str, names: tuple[str, ...]) -> str:
    q, cls = connections[alias].ops.quote_name, ROWS[kind_of_row]
    assignments = ", ".join(f"{q(_column(cls, name))} = %s" for name in names)
    return named(
        f"UPDATE {q(cls.MODEL._meta.db_table)} SET {assignments} "  # noqa: S608 (model names)
        f"WHERE {q(_column(cls, 'pk'))} = %s"
    )


@lru_cache(maxsize=64)
def _insert_sql(alias: str, kind_of_row: str, count: int) -> str:
    """A multi-row INSERT that skips rows whose key exists (where the backend can):
    the rowcount then says whether another process created one meanwhile."""
    connection, cls = connections[alias], ROWS[kind_of_row]
    ops, q = connection.ops, connection.ops.quote_name
    names = cls.KEY + cls.READ + cls.WRITE_ONLY
    one = "(" + ", ".join(["%s"] * len(names)) + ")"
    ignore = OnConflict.IGNORE if connection.features.supports_ignore_conflicts else None
    suffix = ops.on_conflict_suffix_sql([], ignore, None, None) if ignore else ""
    return named(
        f"{ops.insert_statement(on_conflict=ignore)} {q(cls.MODEL._meta.db_table)} "
        f"({', '.join(q(_column(cls, name)) for name in names)}) "
        f"VALUES {', '.join([one] * count)} {suffix}"
    )


class Adapter:
    """Python values to query parameters of one connection. A datetime is adapted
    once per object: most datetimes of one write are the same event time."""

    def __init__(self, connection: Any) -> None:
        self.adapt = connection.ops.adapt_datetimefield_value
        self.done: dict[int, tuple[dt.datetime, Any]] = {}

    def __call__(self, value: Any) -> Any:
        if value.__class__ is not dt.datetime:
            return value
        known = self.done.get(id(value))
        if known is None:
            # The object is kept with its adapted value: its id cannot be reused.
            known = self.done[id(value)] = (value, self.adapt(value))
        return known[1]


def write_rows(cursor: Any, cls: type[Row], rows: Sequence[Any], adapt: Adapter) -> None:
    """Write ``rows`` (locked or new) through ``cursor``: the changed columns of
    stored rows, new rows whole.

    Raises :class:`RowConflict` when another process created one of the new rows
    meanwhile: the caller rolls back and applies everything again.
    """
    alias = cursor.db.alias
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    new = []
    for row in rows:
        if row.pk is None:
            new.append(row)
            continue
        names = row.changed()
        if names:
            values = [adapt(getattr(row, name)) for name in names]
            values.append(row.pk)
            updates.setdefault(names, []).append(params(values))
    for names, params_list in updates.items():
        sql = _update_sql(alias, cls.KIND, names)
        if len(params_list) == 1:
            cursor.execute(sql, params_list[0])
        else:
            cursor.executemany(sql, params_list)
    if not new:
        return
    every = cls.KEY + cls.READ + cls.WRITE_ONLY
    # Chunks within the backend's parameter limit (at most INSERT_ROWS rows each).
    size = max(1, min(INSERT_ROWS, cursor.db.ops.bulk_batch_size(every, new)))
    for start in range(0, len(new), size):
        chunk = new[start : start + size]
        cursor.execute(
            _insert_sql(alias, cls.KIND, len(chunk)),
            params(adapt(getattr(row, name)) for row in chunk for name in every),
        )
        if cursor.rowcount != len(chunk):
            raise RowConflict(f"{cls.MODEL.__name__} row created concurrently")


#: The name prefixes of the channels that need a signature: every other is public.
SIGNED_PREFIXES = (PRIVATE_PREFIX, PRESENCE_PREFIX, SERVER_TO_USER_PREFIX)
#: The key of the PostgreSQL advisory lock that serializes new public rows.
PUBLIC_ROWS_LOCK = 0x7472745F707562  # "trt_pub"


@lru_cache(maxsize=8)
def _count_public_sql(alias: str) -> str:
    q = connections[alias].ops.quote_name
    name = q(_column(ChannelRow, "name"))
    # SUBSTR comparisons, exact on every backend (SQLite's LIKE ignores case).
    signed = " OR ".join(f"SUBSTR({name}, 1, {len(p)}) = %s" for p in SIGNED_PREFIXES)
    table = q(ChannelState._meta.db_table)
    return named(f"SELECT COUNT(*) FROM {table} WHERE NOT ({signed})")  # noqa: S608


def count_public(cursor: Any) -> int:
    """Stored rows of public channels, through ``cursor`` (in the write's transaction).

    On PostgreSQL, first takes a transaction-scoped advisory lock, so concurrent
    writes that may create public rows count one after the other and the cap is
    exact; SQLite serializes writers anyway.
    """
    connection = cursor.db
    if connection.vendor == "postgresql":
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PUBLIC_ROWS_LOCK])
    cursor.execute(_count_public_sql(connection.alias), params(SIGNED_PREFIXES))
    return int(cursor.fetchone()[0])


@lru_cache(maxsize=8)
def _delete_ended_sql(alias: str) -> tuple[str, str]:
    q = connections[alias].ops.quote_name
    members, channels = (q(model._meta.db_table) for model in (PresenceMember, ChannelState))
    left_at, member_time = (q(_column(MemberRow, n)) for n in ("left_at", "last_time_ms"))
    occupied, channel_time = (q(_column(ChannelRow, n)) for n in ("occupied", "last_time_ms"))
    return (
        named(
            f"DELETE FROM {members} WHERE {left_at} IS NOT NULL "  # noqa: S608 (model names)
            f"AND {member_time} < %s"
        ),
        named(
            f"DELETE FROM {channels} WHERE {occupied} = %s "  # noqa: S608 (model names)
            f"AND {channel_time} < %s"
        ),
    )


def delete_ended(before_ms: int) -> int:
    """Delete members gone and channels vacated whose newest event is older than
    ``before_ms``; returns how many rows."""
    connection = connections[router.db_for_write(ChannelState)]
    members, channels = _delete_ended_sql(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(members, params([before_ms]))
        deleted = max(0, cursor.rowcount)
        cursor.execute(channels, params([False, before_ms]))
        return deleted + max(0, cursor.rowcount)
