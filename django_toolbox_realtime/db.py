"""What every writer of the app's tables shares: named SQL parameters and the one
retry policy.

Core: the state (webhooks' hot path), the webhook delivery log and, later, the
outbox write through hand-compiled statements (building model instances and
compiling ORM queries cost several times more than the few statements they run)
and retry on the same conflicts the same way.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, connections

logger = logging.getLogger("django_toolbox_realtime.db")

T = TypeVar("T")

#: Attempts of one write (see :func:`retried`).
ATTEMPTS = 6


def named(sql: str) -> str:
    """``sql`` with its ``%s`` placeholders named ``%(p0)s``, ``%(p1)s``... (pass the
    parameters through :func:`params`).

    Django's SQLite cursor rewrites ``%s`` to ``?`` with a regular expression on
    every execution, which costs about as much as running these statements;
    named parameters are mapped with one string formatting instead. Django's
    SQLite backend and psycopg both accept them.
    """
    pieces = sql.split("%s")
    return "".join(f"{piece}%(p{i})s" for i, piece in enumerate(pieces[:-1])) + pieces[-1]


def column(model: Any, name: str) -> str:
    """The database column of ``model``'s field ``name`` ("pk": the primary key's),
    for the hand-compiled statements."""
    meta = model._meta
    field: Any = meta.pk if name == "pk" else meta.get_field(name)
    return str(field.column)


def quoter(alias: str, model: Any) -> Callable[[str], str]:
    """``name -> column`` of ``model``'s field, quoted for the database of
    ``alias`` (the hand-compiled statements)."""
    quote = connections[alias].ops.quote_name
    return lambda name: quote(column(model, name))


def params(values: Iterable[Any]) -> dict[str, Any]:
    """The parameters of a statement made by :func:`named`, in placeholder order."""
    return {f"p{i}": value for i, value in enumerate(values)}


def no_flush_wait(alias: str) -> None:
    """PostgreSQL: let the current transaction's commit return before its WAL is
    flushed (``SET LOCAL synchronous_commit TO OFF``), for bookkeeping that a crash
    may lose harmlessly (it is redone). Elsewhere nothing."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def retried(attempt: Callable[[], T]) -> T:
    """The one retry policy of the app's writes: ``attempt()`` again after a
    conflict (IntegrityError: a row another process created meanwhile) or a
    transient lock error (OperationalError: SQLite "database is locked", a
    PostgreSQL deadlock victim, a dropped connection: the failed transaction's
    rollback closes it and the next attempt reconnects), at most
    :data:`ATTEMPTS` times in all, with a short exponential pause between
    attempts (10-160 ms)."""
    for n in range(ATTEMPTS):
        try:
            return attempt()
        except (IntegrityError, OperationalError) as exc:
            if n == ATTEMPTS - 1:
                raise
            # Say what failed: a conflict, a lock timeout and a dropped connection
            # (all retried) need different fixes at 3 a.m.
            reason = (str(exc).strip().splitlines() or [""])[0]
            logger.info("A write failed (%s: %s); trying again.", type(exc).__name__, reason)
            time.sleep(0.01 * 2**n + random.uniform(0, 0.01))
    raise AssertionError("unreachable")
