"""The worker's rounds, overlapped (``realtime_deliver``): while one round's events
are on their way to the server, the worker claims the next round and records the
one before, so that the database's work and the server's run side by side
instead of one after the other (draining a backlog on PostgreSQL, the claims and
records take about as long as the sends: see docs/delivery.md for the figures).

Per-channel order holds. The next round is claimed *behind* the rows being sent
(``lanes.claim_round(behind=...)``: it goes on past them in lane order) and its
send starts only once they were all accepted. If any was not (a retry, rows given
back), the next round is given back untouched in the same transaction that
records the outcome, before anything else is claimed. A process that dies midway
leaves leased rows, due again when their leases end with the same ids and
numbers, as after any round; the next round's lease covers the wait for the
send before it.

Only where the database works in another process (PostgreSQL, any server): there
its work runs beside the sends. SQLite works in this process, on the same cores
and partly under the same lock as the sending threads: overlapping slowed a drain
down. Measured draining 10,000 rows over 10 channels to soketi on 2 cores (one
run, vs the raw ``pusher`` library's ``trigger_batch``): PostgreSQL 1.07-1.20x
one round after another, 1.18-1.27x overlapped; SQLite 1.33-1.49x one after
another, 1.23-1.35x overlapped.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

from django.db import connections

from ..conf import realtime_settings
from . import lanes, rounds, usage

logger = logging.getLogger("django_toolbox_realtime.worker")


def overlaps(alias: str) -> bool:
    """Whether rounds on ``alias`` overlap: when its database is another process."""
    return connections[alias].vendor != "sqlite"


class _Sending(NamedTuple):
    """The round being sent: its rows, whether its lanes had more, the send."""

    rows: list[lanes.Claimed]
    more: bool
    future: Future[lanes.Outcome]


class Pipeline:
    """One worker's rounds: :meth:`step` until idle, then :meth:`finish`."""

    def __init__(self, alias: str, limit: int = lanes.WORKER_ROUND_ROWS) -> None:
        self.alias = alias
        self.limit = limit
        self._sending: _Sending | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._pid = os.getpid()

    @property
    def busy(self) -> bool:
        """A round is being sent: call :meth:`step` (or :meth:`finish`) again."""
        return self._sending is not None

    def step(self, fresh_before: dt.datetime | None = None) -> rounds.RoundResult:
        """Claim the next round behind the one being sent, wait for that send,
        start the next one if every row of it was accepted (else give it back),
        then record the sent round. Returns what became of the sent round
        (nothing on the first step: its round has only started)."""
        if self._sending is None:
            if not overlaps(self.alias):
                return rounds.run_round(self.alias, fresh_before=fresh_before, limit=self.limit)
            if realtime_settings.ENABLED:
                self._start(*self._claim(fresh_before, []))
            return rounds.RoundResult()
        sending = self._sending
        claimed: list[lanes.Claimed] = []
        more = False
        if realtime_settings.ENABLED:  # else only record the round being sent
            claimed, more = self._claim(fresh_before, sending.rows)
        return self._record(sending, claimed, more)

    def finish(self) -> rounds.RoundResult:
        """Wait for the round being sent, record it, stop the sending thread."""
        sending = self._sending
        result = self._record(sending) if sending is not None else rounds.RoundResult()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        return result

    def _record(
        self, sent: _Sending, claimed: list[lanes.Claimed] | None = None, more: bool = False
    ) -> rounds.RoundResult:
        """Wait for the round being sent and record it; start ``claimed`` (the
        round claimed behind it) only if every row of it was accepted."""
        self._sending = None
        outcome = _outcome(sent)
        usage.record_messages(len(outcome.delivered))
        if outcome.retry or outcome.released:
            outcome.released += claimed or []  # never overtake a row that waits for a retry
        elif claimed:
            self._start(claimed, more)
        lanes.record(self.alias, outcome)
        return rounds.result_of(sent.rows, outcome, sent.more)

    def _claim(
        self, fresh_before: dt.datetime | None, behind: list[lanes.Claimed]
    ) -> tuple[list[lanes.Claimed], bool]:
        try:
            return self._claim_behind(fresh_before, behind)
        except Exception:
            if not behind:
                raise
            # The round being sent must still be recorded: this step claims nothing.
            logger.exception("Claiming the next round failed; recording the one being sent.")
            return [], False

    def _claim_behind(
        self, fresh_before: dt.datetime | None, behind: list[lanes.Claimed]
    ) -> tuple[list[lanes.Claimed], bool]:
        # The channels due first (oldest waiting), then the lanes being sent
        # (their heads are leased, so they are not "due"): a backlog on a few
        # lanes never keeps the others waiting.
        names = lanes.due_channels(self.alias, fresh_before)
        if behind:
            names = list(dict.fromkeys([*names, *(row.channel for row in behind)]))
            names = names[: lanes.ROUND_LANES]
        return lanes.claim_round(
            self.alias, names, fresh_before=fresh_before, limit=self.limit, behind=behind
        )

    def _start(self, claimed: list[lanes.Claimed], more: bool) -> None:
        if not claimed:
            return
        if self._executor is None or self._pid != os.getpid():
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="toolbox-realtime-round")
            self._pid = os.getpid()
        future = self._executor.submit(rounds.send_without_counting, claimed)
        self._sending = _Sending(claimed, more, future)


def _outcome(sent: _Sending) -> lanes.Outcome:
    """What the send came to; if it broke (a bug: each request's failures are
    caught), its rows are given back: sent again later, with the same ids."""
    try:
        return sent.future.result()
    except Exception:
        logger.exception(
            "Sending a round failed unexpectedly; its %d row(s) are given back.", len(sent.rows)
        )
        return lanes.Outcome(released=list(sent.rows))
