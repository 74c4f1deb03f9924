"""Writing a claim (``lanes.claim``): the claimed rows' numbers and leases, and the
lanes' counters, each with ONE statement whatever the number of rows and lanes.

The statement joins the table with the values computed by the claim: on
PostgreSQL ``UPDATE ... FROM unnest(%s::bigint[], ...)``, one array per column
(three parameters whatever the number of rows: building and sending 1,500
placeholders for 500 rows cost 3-6 ms of Python, the arrays 1 ms); on SQLite
from 3.33 ``UPDATE ... FROM (VALUES (id, ...), ...)``. Elsewhere (an older
SQLite) the same is written with plain ``UPDATE`` statements, one per row and
one per lane: slower, the same result. The statements are compiled once per
shape.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.db import connections

from ..db import named, params, quoter
from ..models import DeliveryLane, OutboxEvent

#: Rows in one statement at most (SQLite allows 32,766 parameters).
CHUNK = 500


def _joins_values(alias: str) -> bool:
    vendor = connections[alias].vendor
    return vendor == "postgresql" or (vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 33))


@lru_cache(maxsize=64)
def _update_sql(alias: str, model: Any, fields: tuple[str, ...], count: int, extra: str) -> str:
    """``UPDATE table SET field = v.columnN..., <extra> FROM (VALUES ...) AS v WHERE
    id = v.column1``: each VALUES row is (id, *fields)."""
    c = quoter(alias, model)
    table = connections[alias].ops.quote_name(model._meta.db_table)
    sets = [f"{c(name)} = v.column{i + 2}" for i, name in enumerate(fields)]
    if extra:
        sets.append(f"{c(extra)} = %s")
    one = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    return named(
        f"UPDATE {table} SET {', '.join(sets)} "  # noqa: S608 (model names)
        f"FROM (VALUES {', '.join([one] * count)}) AS v "
        f"WHERE {table}.{c('pk')} = v.column1"
    )


@lru_cache(maxsize=16)
def _unnest_sql(alias: str, model: Any, fields: tuple[str, ...], extra: str) -> str:
    """``UPDATE table SET field = v.field..., <extra> = %s FROM unnest(ids, *fields)``
    (PostgreSQL): one bigint array per column."""
    c = quoter(alias, model)
    table = connections[alias].ops.quote_name(model._meta.db_table)
    sets = [f"{c(name)} = v.c{i}" for i, name in enumerate(fields)]
    if extra:
        sets.append(f"{c(extra)} = %s")
    arrays = ", ".join(["%s::bigint[]"] * (len(fields) + 1))
    return named(
        f"UPDATE {table} SET {', '.join(sets)} "  # noqa: S608 (model names)
        f"FROM unnest({arrays}) AS v(id, {', '.join(f'c{i}' for i in range(len(fields)))}) "
        f"WHERE {table}.{c('pk')} = v.id"
    )


def _run(
    alias: str,
    model: Any,
    fields: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    extra: tuple[str, Any] | None = None,
) -> None:
    extra_name, first = (extra[0], [extra[1]]) if extra else ("", [])  # SET comes first
    with connections[alias].cursor() as cursor:
        if connections[alias].vendor == "postgresql":
            arrays = [list(values) for values in zip(*rows, strict=True)]
            cursor.execute(_unnest_sql(alias, model, fields, extra_name), params(first + arrays))
            return
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            sql = _update_sql(alias, model, fields, len(chunk), extra_name)
            cursor.execute(sql, params(first + [value for row in chunk for value in row]))


def write_rows(alias: str, rows: Sequence[tuple[int, int, int]], until: dt.datetime) -> None:
    """Give each ``(pk, seq, attempts)`` row its number and try count, leased
    ``until``."""
    if not rows:
        return
    if _joins_values(alias):
        stamp = connections[alias].ops.adapt_datetimefield_value(until)
        _run(alias, OutboxEvent, ("seq", "attempts"), rows, ("next_attempt_at", stamp))
        return
    objects = OutboxEvent.objects.using(alias)
    groups: dict[tuple[int, int], list[int]] = {}
    for pk, seq, attempts in rows:
        groups.setdefault((seq, attempts), []).append(pk)
    for (seq, attempts), pks in groups.items():
        objects.filter(pk__in=pks).update(seq=seq, attempts=attempts, next_attempt_at=until)


def write_lanes(alias: str, lanes: Sequence[tuple[int, int]]) -> None:
    """Set each ``(lane pk, last_seq)``."""
    if not lanes:
        return
    if _joins_values(alias):
        _run(alias, DeliveryLane, ("last_seq",), lanes)
        return
    objects = DeliveryLane.objects.using(alias)
    for pk, last_seq in lanes:
        objects.filter(pk=pk).update(last_seq=last_seq)


@lru_cache(maxsize=16)
def _delivered_sql(alias: str) -> str:
    c = quoter(alias, OutboxEvent)
    table = connections[alias].ops.quote_name(OutboxEvent._meta.db_table)
    return named(
        f"UPDATE {table} SET {c('state')} = %s, "  # noqa: S608
        f"{c('delivered_at')} = %s, {c('last_error')} = '' WHERE {c('pk')} = ANY(%s::bigint[])"
    )


def write_delivered(alias: str, pks: Sequence[int], at: dt.datetime) -> None:
    """Mark the rows ``pks`` sent ``at`` (one statement; on PostgreSQL with one
    array parameter instead of a placeholder per row)."""
    if not pks:
        return
    if connections[alias].vendor == "postgresql":
        stamp = connections[alias].ops.adapt_datetimefield_value(at)
        values = [OutboxEvent.State.DELIVERED.value, stamp, list(pks)]
        with connections[alias].cursor() as cursor:
            cursor.execute(_delivered_sql(alias), params(values))
        return
    OutboxEvent.objects.using(alias).filter(pk__in=list(pks)).update(
        state=OutboxEvent.State.DELIVERED, delivered_at=at, last_error=""
    )
