"""The outbox worker behind ``manage.py realtime_deliver``: rounds until stopped.

Each round claims lanes whose first waiting event is due (leaving events younger
than ``FIRST_ATTEMPT_GRACE_SECONDS`` to their first try), sends, records; on a
database in another process (PostgreSQL) rounds overlap (``pipeline``: the next
is claimed while one is being sent). When a
round finds nothing, the worker sleeps ``WORKER_POLL_SECONDS`` (a stop request
wakes it at once). Sent rows beyond the history bounds are pruned every minute.

On PostgreSQL any number of workers (on any number of machines) share the work:
lanes are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED``. On SQLite claims
take the database's write lock one at a time: more than one worker is safe but
no faster, so run one.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connections
from django.utils import timezone

from ..conf import SETTINGS_NAME, realtime_settings
from . import options, outbox, pipeline, rounds

logger = logging.getLogger("django_toolbox_realtime.worker")

#: Seconds between two prunings of the history.
PRUNE_EVERY = 60.0


class Worker:
    """``run()`` loops over rounds until :meth:`stop` (or a bound) ends it."""

    def __init__(
        self,
        alias: str | None = None,
        *,
        once: bool = False,
        max_rounds: int | None = None,
        max_seconds: float | None = None,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.alias = alias or outbox.outbox_database()
        self.once = once
        self.max_rounds = max_rounds
        self.max_seconds = max_seconds
        self.report = report or logger.info
        self.rounds = 0
        self.totals = {"delivered": 0, "failed": 0, "retry": 0, "dead": 0, "released": 0}
        self._stop = threading.Event()
        self._pruned_at = 0.0
        self._pipeline = pipeline.Pipeline(self.alias)

    def stop(self) -> None:
        """Finish the current round, then return from :meth:`run`."""
        self._stop.set()

    def describe_database(self) -> str:
        vendor = connections[self.alias].vendor
        if connections[self.alias].features.has_select_for_update_skip_locked:
            return f"{vendor}: workers share the lanes (FOR UPDATE SKIP LOCKED)"
        return (
            f"{vendor}: no row locks; claims take the database's write lock one at a time. "
            "Run ONE realtime_deliver for this database."
        )

    def run(self) -> int:
        """Loop; return the number of rounds run."""
        options.mode()  # refuse a wrong DELIVERY before the first round
        started = time.monotonic()
        self.report(f"realtime_deliver on database {self.alias!r} ({self.describe_database()}).")
        if not realtime_settings.ENABLED:
            self.report(f"{SETTINGS_NAME}['ENABLED'] is False: nothing will be sent.")
        try:
            while not self._stop.is_set():
                if self.max_rounds is not None and self.rounds >= self.max_rounds:
                    break
                if self.max_seconds is not None and time.monotonic() - started >= self.max_seconds:
                    break
                result = self._round()
                if self._pipeline.busy:
                    continue  # a round is being sent
                if result.claimed and not (result.retry or result.released):
                    continue  # more may be due at once
                if self.once:
                    break
                self._stop.wait(float(realtime_settings.WORKER_POLL_SECONDS))
        finally:
            self._finish()
            self._prune(force=True)
            close_old_connections()
        return self.rounds

    def _round(self) -> rounds.RoundResult:
        self.rounds += 1
        close_old_connections()
        began = time.monotonic()
        grace = float(realtime_settings.FIRST_ATTEMPT_GRACE_SECONDS)
        fresh_before = None
        if grace > 0 and options.first_attempt() != options.OFF:
            fresh_before = timezone.now() - dt.timedelta(seconds=grace)
        try:
            result = self._pipeline.step(fresh_before)
        except Exception:  # a database hiccup: log, wait, try again
            logger.exception("Delivery round %d failed.", self.rounds)
            return rounds.RoundResult()
        self._count(result, began)
        self._prune()
        return result

    def _finish(self) -> None:
        """Record the round still being sent (stop, or a bound reached)."""
        began = time.monotonic()
        try:
            self._count(self._pipeline.finish(), began)
        except Exception:  # its rows stay leased: due again when the lease ends
            logger.exception("Recording the last round failed.")

    def _count(self, result: rounds.RoundResult, began: float) -> None:
        for name in self.totals:
            self.totals[name] += getattr(result, name)
        took = (time.monotonic() - began) * 1000
        if result.claimed:
            self.report(f"round {self.rounds}: {result.describe()} ({took:.0f} ms)")
        else:
            logger.debug("round %d: nothing recorded (%.0f ms)", self.rounds, took)

    def _prune(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        try:
            deleted = outbox.prune(self.alias)
        except Exception:
            logger.exception("Pruning the delivery history failed.")
            return
        if deleted:
            self.report(f"pruned {deleted} old row(s) of the delivery history")
