"""A round: claim lanes' due events, send them, record the outcome. The same code
serves the first try after commit (``sender``) and ``realtime_deliver`` (``worker``).

Sending: the claimed lanes are dealt into at most ``SEND_THREADS`` groups, sent
side by side (one thread per group, for a backend that talks to a server); in a
group, the rows, lane after lane in order, go out in ``/batch_events`` requests
of at most 10 (rows of several lanes may share one). A lane is in one group
only, so its order is kept. A retryable failure (5xx, timeout, refused
connection, a configuration problem) stops its group: the request's rows wait
for a retry with backoff, the group's rows not tried yet are given back
untouched, and later rows of those lanes wait behind them. A permanent refusal
(400/401/403/404/413) of a request of several rows sends them one by one, so
that only the row the server refuses is marked ``failed`` (with the server's
reason) and its lane goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..backends import OutgoingEvent, get_backend
from ..backends.base import BaseBackend
from ..conf import SETTINGS_NAME, realtime_settings
from ..exceptions import RealtimeConfigurationError, RealtimeDeliveryError, RealtimeValidationError
from ..validation import MAX_EVENTS_PER_BATCH, chunked
from . import envelope, lanes, usage

logger = logging.getLogger("django_toolbox_realtime.delivery")

#: Requests of one round in flight at once at most (groups of lanes).
SEND_THREADS = lanes.SEND_THREADS
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="toolbox-realtime-send")
        return _pool


def _forget_pool() -> None:
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


@dataclass(frozen=True)
class RoundResult:
    lanes: int = 0
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    retry: int = 0
    dead: int = 0
    released: int = 0
    #: A claimed lane had more rows due than the round took.
    more: bool = False

    def describe(self) -> str:
        return (
            f"{self.delivered} sent, {self.failed} refused, {self.retry - self.dead} to retry, "
            f"{self.dead} dead, {self.released} put back, {self.lanes} channel(s)"
        )


@dataclass(frozen=True)
class Failure:
    message: str
    retryable: bool


def _try(backend: BaseBackend, events: list[OutgoingEvent]) -> Failure | None:
    """Send one request; None when it was accepted. No database access: it may
    run on a sending thread (the caller counts what was sent)."""
    try:
        backend.trigger_batch(events)
    except RealtimeDeliveryError as exc:
        return Failure(str(exc), exc.retryable)
    except RealtimeValidationError as exc:  # e.g. an encrypted payload over the limit
        return Failure(str(exc), False)
    except RealtimeConfigurationError as exc:  # fixable without touching the event
        return Failure(str(exc), True)
    except Exception as exc:
        logger.exception("The backend failed unexpectedly.")
        return Failure(f"unexpected {type(exc).__name__} (see the logs)", True)
    return None


def _groups(claimed: list[lanes.Claimed]) -> list[list[lanes.Claimed]]:
    """``claimed`` dealt by lane into at most SEND_THREADS groups of about the same
    number of requests; each keeps its lanes' rows in order."""
    by_lane: dict[str, list[lanes.Claimed]] = {}
    for row in claimed:
        by_lane.setdefault(row.channel, []).append(row)
    if len(by_lane) == 1:
        return [claimed]
    count = min(SEND_THREADS, -(-len(claimed) // MAX_EVENTS_PER_BATCH), len(by_lane))
    groups: list[list[lanes.Claimed]] = [[] for _ in range(max(1, count))]
    for rows in sorted(by_lane.values(), key=len, reverse=True):
        min(groups, key=len).extend(rows)
    return [group for group in groups if group]


def send(claimed: list[lanes.Claimed], backend: BaseBackend | None = None) -> lanes.Outcome:
    """Send ``claimed`` (in lane order) and say what happened to each row: groups
    of lanes side by side when the backend talks to a server."""
    outcome = send_without_counting(claimed, backend)
    usage.record_messages(len(outcome.delivered))
    return outcome


def send_without_counting(
    claimed: list[lanes.Claimed], backend: BaseBackend | None = None
) -> lanes.Outcome:
    """:func:`send` without adding to today's message count (which may write to
    the database): for a thread that must not touch it; the caller counts."""
    backend = backend or get_backend()
    groups = _groups(claimed)
    if len(groups) == 1 or not getattr(backend, "delivers_to_server", False):
        outcomes = [_send_group(backend, group) for group in groups]
    else:
        outcomes = list(_executor().map(lambda group: _send_group(backend, group), groups))
    outcome = lanes.Outcome()
    for part in outcomes:
        outcome.delivered += part.delivered
        outcome.failed += part.failed
        outcome.retry += part.retry
        outcome.released += part.released
    return outcome


def _send_group(backend: BaseBackend, claimed: list[lanes.Claimed]) -> lanes.Outcome:
    outcome = lanes.Outcome()
    chunks = chunked(claimed, MAX_EVENTS_PER_BATCH)
    for index, chunk in enumerate(chunks):
        failure = _try(backend, [row.outgoing() for row in chunk])
        if failure is None:
            outcome.delivered += chunk
            continue
        if failure.retryable:
            outcome.retry += [(row, failure.message) for row in chunk]
            outcome.released += [row for rest in chunks[index + 1 :] for row in rest]
            return outcome
        if len(chunk) == 1:
            outcome.failed.append((chunk[0], failure.message))
            continue
        for position, row in enumerate(chunk):  # find the row the server refuses
            alone = _try(backend, [row.outgoing()])
            if alone is None:
                outcome.delivered.append(row)
            elif not alone.retryable:
                outcome.failed.append((row, alone.message))
            else:
                outcome.retry.append((row, alone.message))
                outcome.released += chunk[position + 1 :]
                outcome.released += [row for rest in chunks[index + 1 :] for row in rest]
                return outcome
    return outcome


def run_round(
    alias: str,
    channels: list[str] | None = None,
    *,
    fresh_before: dt.datetime | None = None,
    limit: int = lanes.ROUND_ROWS,
) -> RoundResult:
    """One round on ``channels`` (None: the channels whose first waiting event is
    due, leaving rows written after ``fresh_before`` to their first try)."""
    if not realtime_settings.ENABLED:
        return RoundResult()
    if channels is None:
        channels = lanes.due_channels(alias, fresh_before)
    claimed, more = lanes.claim_round(alias, channels, fresh_before=fresh_before, limit=limit)
    if not claimed:
        return RoundResult()
    outcome = send(claimed)
    lanes.record(alias, outcome)
    return result_of(claimed, outcome, more)


def result_of(claimed: list[lanes.Claimed], outcome: lanes.Outcome, more: bool) -> RoundResult:
    """The summary of a round that sent ``claimed`` (``outcome.dead`` is set by
    ``lanes.record``)."""
    return RoundResult(
        lanes=len({row.channel for row in claimed}),
        claimed=len(claimed),
        delivered=len(outcome.delivered),
        failed=len(outcome.failed),
        retry=len(outcome.retry),
        dead=outcome.dead,
        released=len(outcome.released),
        more=more,
    )


def send_immediately(alias: str, events: list[OutgoingEvent]) -> int:
    """``DELIVERY = "immediate"``: number and send ``events`` now, without rows.
    A failure is logged, never raised, never retried. Returns how many were sent."""
    if not realtime_settings.ENABLED:
        return 0
    counts: dict[str, int] = {}
    for event in events:
        for channel in event.channels:
            counts[channel] = counts.get(channel, 0) + 1
    next_seq = lanes.take_seqs(alias, counts)
    items = []
    for event in events:
        for channel in event.channels:
            seq, next_seq[channel] = next_seq[channel], next_seq[channel] + 1
            data = envelope.wrap(event.data, event.id, seq)
            items.append(OutgoingEvent(event.id, event.name, (channel,), data, event.socket_id))
    backend, sent, failure = get_backend(), 0, None
    for chunk in chunked(items, MAX_EVENTS_PER_BATCH):
        refused = _try(backend, chunk)
        if refused is None:
            sent += len(chunk)
            continue
        failure = refused
        if refused.retryable:  # the server is down: the rest would fail the same way
            break
    usage.record_messages(sent)
    if sent < len(items):
        logger.warning(
            "%d of %d event(s) not delivered; %s['DELIVERY'] is 'immediate', so they are "
            "not retried: %s",
            len(items) - sent,
            len(items),
            SETTINGS_NAME,
            failure.message if failure else "",
        )
    return sent
