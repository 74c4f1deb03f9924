"""Statements and commits per operation, counted on the default connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext

#: Transaction bookkeeping: neither a statement of the operation nor a commit.
BOOKKEEPING = ("BEGIN", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def commits_counted() -> Iterator[dict[str, int]]:
    """Counts commits: explicit ones (the end of an atomic block) and each write run
    in autocommit (its own transaction)."""
    counts = {"commits": 0}
    real_commit = connection.commit

    def commit() -> None:
        counts["commits"] += 1
        real_commit()

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        # (SQLite's BEGIN of an atomic block runs before in_atomic_block is set.)
        head = sql.lstrip().upper()
        if not connection.in_atomic_block and not head.startswith(("SELECT", *BOOKKEEPING)):
            counts["commits"] += 1
        return execute(sql, params, many, context)

    connection.commit = commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(wrapper):
            yield counts
    finally:
        del connection.commit


def per_operation(count: int, operation: Callable[[int], None]) -> tuple[float, float]:
    """(statements, commits) per call of ``operation`` over ``count`` calls.
    BEGIN / SAVEPOINT bookkeeping is not counted as a statement."""
    with CaptureQueriesContext(connection) as queries, commits_counted() as counts:
        for i in range(count):
            operation(i)
    statements = [
        q for q in queries.captured_queries if not q["sql"].upper().startswith(BOOKKEEPING)
    ]
    return len(statements) / count, counts["commits"] / count
