"""The record of webhook deliveries (``WebhookDelivery``): for the admin, for
health's webhook check, and as the dedupe memory of accepted bodies.

Bounded: rejected and duplicate records beyond ``WEBHOOK_DELIVERY_LOG_SIZE`` are
deleted, and so are accepted ones once their body could no longer be accepted
again (``time_ms`` outside ``WEBHOOK_TOLERANCE_SECONDS``).
"""

from __future__ import annotations

import logging
import random
import time
import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.db import DatabaseError, OperationalError
from django.db.models import Max, Q

from .conf import realtime_settings
from .models import WebhookDelivery

logger = logging.getLogger("django_toolbox_realtime.webhooks")

T = TypeVar("T")

#: Prune once every this many records (by primary key), not on every request.
PRUNE_EVERY = 16


def clean_text(value: str, limit: int) -> str:
    """``value`` without control characters or lone surrogates, at most ``limit`` long.

    Event names come from the (authenticated) server but may be anything; the
    database must never choke on them (PostgreSQL refuses NUL and surrogates).
    """
    value = value.encode("utf-8", "replace").decode("utf-8")
    value = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C")
    return value[:limit]


def names_summary(names: Iterable[str]) -> str:
    """Distinct event names in order of appearance, comma-separated, ≤ 255 characters."""
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(clean_text(name, 100), None)
    return clean_text(", ".join(seen), 255)


def record(
    outcome: str,
    status_code: int,
    *,
    time_ms: int | None = None,
    event_count: int = 0,
    event_names: str = "",
    detail: str = "",
) -> WebhookDelivery | None:
    """Store a rejected or duplicate delivery. Never raises: logging must not fail
    the response."""
    try:
        row = retry_on_lock(
            lambda: WebhookDelivery.objects.create(
                outcome=outcome,
                status_code=status_code,
                time_ms=time_ms,
                event_count=event_count,
                event_names=event_names,
                detail=clean_text(detail, 255),
            )
        )
    except DatabaseError:
        logger.warning("Could not record a webhook delivery.", exc_info=True)
        return None
    maybe_prune(row.pk)
    return row


def retry_on_lock(work: Callable[[], T], attempts: int = 6) -> T:
    """``work()``, again after a transient lock error (SQLite "database is locked",
    a PostgreSQL deadlock victim), with a short exponential backoff (10-160 ms)."""
    for attempt in range(attempts):
        try:
            return work()
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.01 * 2**attempt + random.uniform(0, 0.01))
    raise AssertionError("unreachable")


def maybe_prune(pk: int | None) -> None:
    if pk is not None and pk % PRUNE_EVERY == 0:
        try:
            prune()
        except DatabaseError:
            logger.warning("Could not prune webhook deliveries.", exc_info=True)


def prune(now_ms: int | None = None) -> int:
    """Delete records beyond the bounds; returns how many were deleted."""
    from . import state

    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    tolerance_ms = int(float(realtime_settings.WEBHOOK_TOLERANCE_SECONDS) * 1000)
    size = int(realtime_settings.WEBHOOK_DELIVERY_LOG_SIZE)
    newest = WebhookDelivery.objects.aggregate(top=Max("pk"))["top"] or 0
    replayable = Q(digest__isnull=False, time_ms__gte=now_ms - tolerance_ms)
    deleted, _ = WebhookDelivery.objects.filter(pk__lte=newest - size).exclude(replayable).delete()
    return deleted + state.prune(now_ms)
