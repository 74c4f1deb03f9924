"""Writing a claim (``lanes.claim``): the claimed rows' numbers and leases, and the
lanes' counters, each with ONE statement whatever the number of rows and lanes.

``UPDATE ... FROM (VALUES (id, ...), ...)`` joins the table with the values
computed by the claim (PostgreSQL; SQLite from 3.33). Elsewhere (an older
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

from ..db import column, named, params
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
    q = connections[alias].ops.quote_name
    table = q(model._meta.db_table)
    sets = [f"{q(column(model, name))} = v.column{i + 2}" for i, name in enumerate(fields)]
    if extra:
        sets.append(f"{q(column(model, extra))} = %s")
    one = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    return named(
        f"UPDATE {table} SET {', '.join(sets)} "  # noqa: S608 (model names)
        f"FROM (VALUES {', '.join([one] * count)}) AS v "
        f"WHERE {table}.{q(column(model, 'id'))} = v.column1"
    )


def _run(
    alias: str,
    model: Any,
    fields: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    extra: tuple[str, Any] | None = None,
) -> None:
    with connections[alias].cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            sql = _update_sql(alias, model, fields, len(chunk), extra[0] if extra else "")
            values = [extra[1]] if extra else []  # SET comes before VALUES
            values += [value for row in chunk for value in row]
            cursor.execute(sql, params(values))


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
