"""The record of webhook deliveries (``WebhookDelivery``): for the admin, for
health's webhook check, and as the dedupe memory of accepted bodies.

Bounded: rejected and duplicate records beyond ``WEBHOOK_DELIVERY_LOG_SIZE`` are
deleted, and so are accepted ones once their body could no longer be accepted
again (``time_ms`` outside ``WEBHOOK_TOLERANCE_SECONDS``). Pruning is amortized:
it is due when a new record's primary key is a multiple of :data:`PRUNE_EVERY`
(:func:`prune_due`); the webhook view then prunes this log and the state.

Records are written with one SQL statement each (every webhook writes one); an
accepted body's digest is inserted skipping an existing one, so a repeated body
is told by the rowcount rather than by an IntegrityError that would abort the
transaction on PostgreSQL.

Rejections are noise an attacker controls: each is counted (``models.usage``, per
:data:`BUCKET_MINUTES`), and only the first ``WEBHOOK_REJECTIONS_LOGGED`` of each
period are recorded, with their reason, so that forged webhooks cannot grow the
log or flush the accepted records out of it.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django.db import DatabaseError, connections, router
from django.db.models.constants import OnConflict
from django.utils import timezone

from .. import clock
from ..conf import realtime_settings
from ..db import column, named, params, retried
from ..models import WebhookDelivery
from ..models.usage import add_count, read_total

logger = logging.getLogger("django_toolbox_realtime.webhooks")

#: Prune once every this many records (by primary key), not on every request.
PRUNE_EVERY = 16

#: The counter of rejected webhooks, and the length of its periods.
REJECTED = "webhooks.rejected"
BUCKET_MINUTES = 5
#: Rejection counts kept (seconds): health reads the last hour at most.
_KEEP_SECONDS = 2 * 3600

_COLUMNS = (
    "received_at",
    "digest",
    "time_ms",
    "outcome",
    "status_code",
    "event_count",
    "event_names",
    "detail",
)


def clean_text(value: str, limit: int) -> str:
    """``value`` without control characters or lone surrogates, at most ``limit`` long.

    Event names come from the (authenticated) server but may be anything; the
    database must never choke on them (PostgreSQL refuses NUL and surrogates).
    """
    if value.isascii() and value.isprintable():  # the usual case: nothing to remove
        return value[:limit]
    value = value.encode("utf-8", "replace").decode("utf-8")
    value = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C")
    return value[:limit]


def names_summary(names: Iterable[str]) -> str:
    """Distinct event names in order of appearance, comma-separated, ≤ 255 characters."""
    distinct = dict.fromkeys(clean_text(name, 100) for name in dict.fromkeys(names))
    return clean_text(", ".join(distinct), 255)


def _connection() -> Any:
    return connections[router.db_for_write(WebhookDelivery)]


def _column(name: str) -> str:
    return column(WebhookDelivery, name)


@lru_cache(maxsize=8)
def _insert_sql(alias: str) -> tuple[str, bool]:
    """The INSERT of one record, skipping an existing digest where the backend can;
    and whether it returns the new primary key."""
    connection = connections[alias]
    ops, features, q = connection.ops, connection.features, connection.ops.quote_name
    meta = WebhookDelivery._meta
    ignore = OnConflict.IGNORE if features.supports_ignore_conflicts else None
    suffix = ops.on_conflict_suffix_sql([], ignore, None, None) if ignore else ""
    # SQLite's lastrowid is cheaper than fetching a RETURNING row.
    returning = bool(features.can_return_columns_from_insert) and connection.vendor != "sqlite"
    columns = ", ".join(q(_column(name)) for name in _COLUMNS)
    marks = ", ".join(["%s"] * len(_COLUMNS))
    sql = (
        f"{ops.insert_statement(on_conflict=ignore)} {q(meta.db_table)} ({columns}) "
        f"VALUES ({marks}) {suffix}"
    )
    if returning:
        sql += f" RETURNING {q(str(meta.pk.column))}"
    return named(sql), returning


def insert(
    outcome: str,
    status_code: int,
    *,
    digest: str | None = None,
    time_ms: int | None = None,
    event_count: int = 0,
    event_names: str = "",
    detail: str = "",
    cursor: Any = None,
) -> int | None:
    """Store one record (through ``cursor``, in its transaction, if given); its
    primary key, or None when ``digest`` is already stored.

    (Backends that cannot skip a conflicting row raise IntegrityError instead.)
    """
    values = [digest, time_ms, outcome, status_code, event_count, event_names]
    values.append(clean_text(detail, 255))
    if cursor is not None:
        return _insert(cursor, values)
    with _connection().cursor() as own:
        return _insert(own, values)


def _insert(cursor: Any, values: list[Any]) -> int | None:
    connection = cursor.db
    sql, returning = _insert_sql(connection.alias)
    received_at = connection.ops.adapt_datetimefield_value(timezone.now())
    cursor.execute(sql, params([received_at, *values]))
    if returning:
        rows = cursor.fetchall()
        return int(rows[0][0]) if rows else None
    if cursor.rowcount == 0:
        return None
    meta = WebhookDelivery._meta
    return int(connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column))


def set_detail(pk: int, detail: str) -> None:
    """Replace the ``detail`` of record ``pk`` (rare: stale events)."""
    WebhookDelivery.objects.filter(pk=pk).update(detail=clean_text(detail, 255))


def period_of(at: dt.datetime) -> str:
    """The rejection counter's period of ``at`` (UTC, sortable text)."""
    at = at.astimezone(dt.timezone.utc)
    return f"{at:%Y-%m-%dT%H}:{at.minute - at.minute % BUCKET_MINUTES:02d}"


def periods_within(seconds: float, now: dt.datetime | None = None) -> list[str]:
    """The periods of the last ``seconds`` (the current one included)."""
    now = now or timezone.now()
    step = dt.timedelta(minutes=BUCKET_MINUTES)
    count = max(1, -(-int(seconds) // int(step.total_seconds())))
    return sorted({period_of(now - i * step) for i in range(count)})


def count_rejection() -> int | None:
    """Count one rejected delivery; the count of its period so far (None when the
    count could not be written)."""
    now = timezone.now()
    try:
        return add_count(
            REJECTED,
            period_of(now),
            1,
            ttl=_KEEP_SECONDS,
            keep_from=period_of(now - dt.timedelta(seconds=_KEEP_SECONDS)),
            returning=True,
        )
    except Exception:
        logger.warning("Could not count a rejected webhook.", exc_info=True)
        return None


def rejections_within(seconds: float, now: dt.datetime | None = None) -> int:
    """Rejected deliveries counted in the periods of the last ``seconds``."""
    return read_total(REJECTED, periods_within(seconds, now))


def record(
    outcome: str,
    status_code: int,
    *,
    time_ms: int | None = None,
    event_count: int = 0,
    event_names: str = "",
    detail: str = "",
) -> int | None:
    """Store a rejected or duplicate delivery; its primary key (None when not
    stored: a rejection beyond the period's sample is only counted). Never
    raises: logging must not fail the response. (Retried like every write: see
    ``db.retried``.)"""
    if outcome == WebhookDelivery.Outcome.REJECTED:
        counted = count_rejection()
        if counted is not None and counted > int(realtime_settings.WEBHOOK_REJECTIONS_LOGGED):
            return None
    try:
        pk = retried(
            lambda: insert(
                outcome,
                status_code,
                time_ms=time_ms,
                event_count=event_count,
                event_names=event_names,
                detail=detail,
            )
        )
    except DatabaseError:
        logger.warning("Could not record a webhook delivery.", exc_info=True)
        return None
    return pk


def prune_due(pk: int | None) -> bool:
    """Whether a new record ``pk`` is the one in :data:`PRUNE_EVERY` whose writer
    prunes: once per that many deliveries across all processes, never per request."""
    return pk is not None and pk % PRUNE_EVERY == 0


@lru_cache(maxsize=8)
def _prune_sql(alias: str) -> tuple[str, str, str]:
    q = connections[alias].ops.quote_name
    meta = WebhookDelivery._meta
    table, pk = q(meta.db_table), q(str(meta.pk.column))
    digest, time_ms = q(_column("digest")), q(_column("time_ms"))
    return (
        f"SELECT MAX({pk}) FROM {table}",  # noqa: S608 (names from the model)
        named(f"DELETE FROM {table} WHERE {pk} <= %s AND {digest} IS NULL"),  # noqa: S608
        named(f"DELETE FROM {table} WHERE {pk} <= %s AND {time_ms} < %s"),  # noqa: S608
    )


def prune(now_ms: int | None = None, newest: int | None = None) -> int:
    """Delete records beyond the bounds (``newest``: the highest primary key, if
    known); returns how many."""
    now = clock.now_ms() if now_ms is None else now_ms
    size = int(realtime_settings.WEBHOOK_DELIVERY_LOG_SIZE)
    connection = _connection()
    newest_sql, without_digest, expired = _prune_sql(connection.alias)
    deleted = 0
    with connection.cursor() as cursor:
        if newest is None:
            cursor.execute(newest_sql)
            newest = int(cursor.fetchone()[0] or 0)
        # Two deletes, each served by an index: records without a digest (rejected,
        # duplicate) and accepted ones whose time_ms can no longer pass the time check.
        cursor.execute(without_digest, params([newest - size]))
        deleted += max(0, cursor.rowcount)
        cursor.execute(expired, params([newest - size, now - clock.tolerance_ms()]))
        deleted += max(0, cursor.rowcount)
    return deleted
