"""The two short transactions of a round: claiming lanes' due events, and recording
what became of them. Nothing is sent while either is open, so a hung server never
holds a database lock (on SQLite, any open write transaction would stop every save).

Claiming, per lane (one per channel), under the lane's row lock
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the claim first
takes the database's write lock, so claims run one at a time):

* take the lane's pending rows in send order (numbered rows by ``seq``, then the
  others by ``id``), the due prefix only: stop at the first row not due yet (a row
  leased or waiting for its retry keeps the rows behind it waiting: per-channel
  order);
* number the rows not numbered yet (``seq = last_seq + 1 ...``; a row keeps its
  number on retries);
* lease them: count the try now and push ``next_attempt_at`` past the time the
  send can take, so no other sender takes them meanwhile. If the process dies
  mid-send, the rows are due again when the lease ends (same id, same seq).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from ..backends import OutgoingEvent
from ..conf import realtime_settings
from ..db import no_flush_wait, retried
from ..models import DeliveryLane, OutboxEvent
from ..validation import MAX_EVENTS_PER_BATCH
from . import claim_reads, due_reads, envelope, lease, options
from .outbox import ensure_lanes

PENDING = OutboxEvent.State.PENDING
#: Rows claimed in one round at most (10 requests), and channels looked at. The
#: first try after commit uses this; ``realtime_deliver`` claims WORKER_ROUND_ROWS.
ROUND_ROWS = 100
ROUND_LANES = 50
#: A worker's round: draining a backlog, a claim's and a record's fixed cost
#: (statements, ORM compilation) then spreads over 5x more rows (measured: 10,000
#: rows over 10 channels on SQLite, 1,150 ms of database work at 100 rows a round,
#: 430 ms at 500, 320 ms at 1,000, whose leases are twice as long).
WORKER_ROUND_ROWS = 500
#: Requests of a round in flight at once at most (``rounds`` sends that many
#: groups of lanes side by side).
SEND_THREADS = 4


@dataclass(frozen=True)
class Claimed:
    """A row being sent; ``attempts`` counts this try."""

    pk: int
    channel: str
    event_id: str
    name: str
    data: str
    socket_id: str | None
    seq: int
    attempts: int

    def outgoing(self) -> OutgoingEvent:
        return OutgoingEvent(
            id=self.event_id,
            name=self.name,
            channels=(self.channel,),
            data=envelope.wrap(self.data, self.event_id, self.seq),
            socket_id=self.socket_id,
        )


def due_channels(
    alias: str, fresh_before: dt.datetime | None, limit: int = ROUND_LANES
) -> list[str]:
    """Channels whose first waiting row is due (and, with ``fresh_before``, was
    tried already or written before it), oldest first. The first rows are found
    by skipping through the pending index channel by channel (``due_reads``), or
    elsewhere with one pass over it (``MIN(id) ... GROUP BY channel``); never
    with a probe for an earlier row per waiting row."""
    if due_reads.supported(alias):
        return due_reads.due_channels(alias, claim_reads.Due(timezone.now(), fresh_before), limit)
    rows = OutboxEvent.objects.using(alias)
    firsts = rows.filter(state=PENDING).order_by().values("channel").annotate(first=Min("pk"))
    heads = rows.filter(pk__in=firsts.values("first"), next_attempt_at__lte=timezone.now())
    if fresh_before is not None:
        heads = heads.filter(Q(attempts__gt=0) | Q(created_at__lte=fresh_before))
    heads = heads.order_by("next_attempt_at")
    return list(heads.values_list("channel", flat=True)[:limit])


def has_due(alias: str, channels: Sequence[str]) -> bool:
    """Whether a pending row on ``channels`` is due now (one indexed probe). A due
    row may still wait behind a lane's head that is not due: a claim tells."""
    rows = OutboxEvent.objects.using(alias).filter(state=PENDING, channel__in=list(channels))
    return rows.filter(next_attempt_at__lte=timezone.now()).exists()


def lease_seconds(rows: int, largest_lane: int | None = None) -> float:
    """How long claimed rows are kept from other senders: every request of the
    longest sending group taking the whole ``TIMEOUT``, plus one. A group holds
    whole lanes, dealt to the least loaded of SEND_THREADS groups, so it holds at
    most ``rows / SEND_THREADS`` rows plus the largest lane."""
    in_group = rows
    if largest_lane is not None:
        in_group = min(rows, math.ceil(rows / SEND_THREADS) + largest_lane)
    requests = math.ceil(in_group / MAX_EVENTS_PER_BATCH) + 1
    return float(realtime_settings.TIMEOUT) * requests + 1.0


def claim(
    alias: str,
    channels: Sequence[str],
    *,
    fresh_before: dt.datetime | None = None,
    limit: int = ROUND_ROWS,
) -> list[Claimed]:
    """Claim the due prefixes of the lanes of ``channels`` that no other sender
    holds, in the order given, at most ``limit`` rows in all (see
    :func:`claim_round`)."""
    return claim_round(alias, channels, fresh_before=fresh_before, limit=limit)[0]


def claim_round(
    alias: str,
    channels: Sequence[str],
    *,
    fresh_before: dt.datetime | None = None,
    limit: int = ROUND_ROWS,
    behind: Sequence[Claimed] = (),
) -> tuple[list[Claimed], bool]:
    """:func:`claim`, and whether a claimed lane has more rows due. The round is
    shared among the lanes: each takes at most ``limit / len(channels)`` rows
    (at least one request's worth), so that their sends can run side by side.

    ``behind``: rows this process has claimed and is sending now (the worker's
    pipeline): the claim goes on past them, in lane order, instead of stopping
    at them; the caller sends what it gets only once they were all accepted, so
    the lease also covers the longest wait for that send."""
    if not channels:
        return [], False
    skip = frozenset(row.pk for row in behind)
    largest_behind = max(Counter(row.channel for row in behind).values(), default=0)
    wait = lease_seconds(len(behind), largest_behind) if behind else 0.0
    return retried(
        lambda: _claim(alias, list(channels), fresh_before, limit, skip, largest_behind, wait)
    )


def _claim(
    alias: str,
    channels: list[str],
    fresh_before: dt.datetime | None,
    limit: int,
    skip: frozenset[int],
    extra_reads: int,
    extra_lease: float,
) -> tuple[list[Claimed], bool]:
    per_lane = max(MAX_EVENTS_PER_BATCH, -(-limit // len(channels)))
    more = False
    claimed: list[Claimed] = []
    lanes_numbered: list[tuple[int, int]] = []
    largest = 0  # rows taken from one lane at most: the lease's longest group
    with transaction.atomic(using=alias):
        now = timezone.now()
        due = claim_reads.Due(now, fresh_before)
        for lane in claim_reads.locked_lanes(alias, channels, per_lane + 1 + extra_reads, due):
            room = min(per_lane, limit - len(claimed))
            waiting = [values for values in lane.waiting if values[0] not in skip]
            if room <= 0:
                more = more or bool(waiting)
                continue
            seq, before = lane.last_seq, len(claimed)
            for taken, values in enumerate(waiting):
                pk, event_id, name, data, socket_id, row_seq, attempts, is_due = values
                if not is_due:
                    break
                if taken == room:  # one more is due: the next round takes it
                    more = True
                    break
                if row_seq is None:
                    seq += 1
                    row_seq = seq
                claimed.append(
                    Claimed(
                        pk,
                        lane.channel,
                        event_id,
                        name,
                        data,
                        socket_id or None,
                        row_seq,
                        attempts + 1,
                    )
                )
            if seq != lane.last_seq:
                lanes_numbered.append((lane.pk, seq))
            largest = max(largest, len(claimed) - before)
        until = now + dt.timedelta(seconds=lease_seconds(len(claimed), largest) + extra_lease)
        lease.write_rows(alias, [(row.pk, row.seq, row.attempts) for row in claimed], until)
        lease.write_lanes(alias, lanes_numbered)
    return claimed, more


def take_seqs(alias: str, counts: dict[str, int]) -> dict[str, int]:
    """Reserve ``counts[channel]`` numbers on each channel (immediate mode, no rows);
    return the first number of each channel's range."""
    ensure_lanes(alias, counts)

    def attempt() -> dict[str, int]:
        lanes = DeliveryLane.objects.using(alias)
        with transaction.atomic(using=alias):
            for channel, count in counts.items():
                lanes.filter(channel=channel).update(last_seq=F("last_seq") + count)
            last = dict(lanes.filter(channel__in=list(counts)).values_list("channel", "last_seq"))
        return {channel: last[channel] - count + 1 for channel, count in counts.items()}

    return retried(attempt)


@dataclass
class Outcome:
    """What a round's sends came to, by row."""

    delivered: list[Claimed] = field(default_factory=list)
    failed: list[tuple[Claimed, str]] = field(default_factory=list)
    retry: list[tuple[Claimed, str]] = field(default_factory=list)
    #: Claimed but not tried (the round stopped first): the try is given back.
    released: list[Claimed] = field(default_factory=list)
    dead: int = 0

    @property
    def tried(self) -> int:
        return len(self.delivered) + len(self.failed) + len(self.retry)


def record(alias: str, outcome: Outcome) -> None:
    """Write ``outcome`` (one short transaction): sent rows, refused ones (with the
    server's reason), retries after a backoff or dead letters after MAX_ATTEMPTS."""
    max_attempts = int(realtime_settings.MAX_ATTEMPTS)
    outcome.dead = sum(1 for row, _ in outcome.retry if row.attempts >= max_attempts)

    def attempt() -> None:
        rows = OutboxEvent.objects.using(alias)
        with transaction.atomic(using=alias):
            # An outcome lost to a crash only means an event sent again (same id
            # and seq): the sender need not compete with users' commits for flushes.
            no_flush_wait(alias)
            now = timezone.now()
            lease.write_delivered(alias, [row.pk for row in outcome.delivered], now)
            for row, reason in outcome.failed:
                rows.filter(pk=row.pk, state=PENDING).update(
                    state=OutboxEvent.State.FAILED, last_error=reason[:255]
                )
            for row, reason in outcome.retry:
                change: dict[str, Any]
                if row.attempts >= max_attempts:
                    change = {"state": OutboxEvent.State.DEAD}
                else:
                    wait = options.backoff_seconds(row.attempts)
                    change = {"next_attempt_at": now + dt.timedelta(seconds=wait)}
                rows.filter(pk=row.pk, state=PENDING).update(last_error=reason[:255], **change)
            if outcome.released:
                rows.filter(pk__in=[row.pk for row in outcome.released], state=PENDING).update(
                    attempts=F("attempts") - 1, next_attempt_at=now
                )

    retried(attempt)
