"""The two short transactions of a round: claiming lanes' due events, and recording
what became of them. Nothing is sent while either is open, so a hung server never
holds a database lock (on SQLite, any open write transaction would stop every save).

Claiming, per lane (one per channel), under the lane's row lock
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the claim first
takes the database's write lock, so claims run one at a time):

* take the lane's pending rows in ``id`` order, the due prefix only: stop at the
  first row not due yet (a row waiting for its retry keeps the rows behind it
  waiting: per-channel order);
* number the rows not numbered yet (``seq = last_seq + 1 ...``; a row keeps its
  number on retries);
* lease them: count the try now and push ``next_attempt_at`` past the time the
  send can take, so no other sender takes them meanwhile. If the process dies
  mid-send, the rows are due again when the lease ends (same id, same seq).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from ..backends import OutgoingEvent
from ..conf import realtime_settings
from ..db import retried
from ..models import DeliveryLane, OutboxEvent
from ..validation import MAX_EVENTS_PER_BATCH
from . import envelope, options
from .outbox import ensure_lanes

PENDING = OutboxEvent.State.PENDING
#: Rows claimed in one round at most (10 requests), and channels looked at.
ROUND_ROWS = 100
ROUND_LANES = 50
_FIELDS = ("pk", "event_id", "name", "data", "socket_id", "seq", "attempts")


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
    tried already or written before it), oldest first."""
    rows = OutboxEvent.objects.using(alias)
    earlier = rows.filter(channel=OuterRef("channel"), state=PENDING, pk__lt=OuterRef("pk"))
    heads = rows.filter(state=PENDING, next_attempt_at__lte=timezone.now())
    if fresh_before is not None:
        heads = heads.filter(Q(attempts__gt=0) | Q(created_at__lte=fresh_before))
    heads = heads.filter(~Exists(earlier)).order_by("next_attempt_at")
    return list(heads.values_list("channel", flat=True)[:limit])


def lease_seconds(rows: int) -> float:
    """How long claimed rows are kept from other senders: every request taking the
    whole ``TIMEOUT``, plus one."""
    requests = math.ceil(rows / MAX_EVENTS_PER_BATCH) + 1
    return float(realtime_settings.TIMEOUT) * requests + 1.0


def claim(
    alias: str,
    channels: Sequence[str],
    *,
    fresh_before: dt.datetime | None = None,
    limit: int = ROUND_ROWS,
) -> list[Claimed]:
    """Claim the due prefixes of the lanes of ``channels`` that no other sender
    holds, in the order given, at most ``limit`` rows in all."""
    if not channels:
        return []
    return retried(lambda: _claim(alias, list(channels), fresh_before, limit))


def _no_flush_wait(alias: str) -> None:
    """PostgreSQL: let this transaction's commit return before its WAL is flushed.
    A claim or an outcome lost to a crash only means an event sent again (same id
    and seq), and the sender stops competing with the users' commits for flushes."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _locked(alias: str, channels: list[str]) -> Iterator[DeliveryLane]:
    """The lanes of ``channels`` that no other sender holds, locked one by one in
    the order given (so only as many are held as the round takes)."""
    lanes = DeliveryLane.objects.using(alias)
    if connections[alias].features.has_select_for_update_skip_locked:
        for name in channels:
            lane = lanes.select_for_update(skip_locked=True).filter(channel=name).first()
            if lane is not None:
                yield lane
        return
    lanes.filter(channel__in=channels).update(last_seq=F("last_seq"))  # the write lock
    found = {lane.channel: lane for lane in lanes.filter(channel__in=channels)}
    yield from (found[name] for name in channels if name in found)


def _claim(
    alias: str, channels: list[str], fresh_before: dt.datetime | None, limit: int
) -> list[Claimed]:
    rows = OutboxEvent.objects.using(alias)
    claimed: list[Claimed] = []
    lanes_numbered: list[DeliveryLane] = []
    numbered: list[int] = []  # rows numbered by this claim
    with transaction.atomic(using=alias):
        _no_flush_wait(alias)
        ensure_lanes(alias, channels)
        now = timezone.now()
        for lane in _locked(alias, channels):
            if len(claimed) >= limit:
                break
            waiting = rows.filter(channel=lane.channel, state=PENDING).order_by("pk")
            seq = lane.last_seq
            for values in waiting.values_list(*_FIELDS, "next_attempt_at", "created_at")[
                : limit - len(claimed)
            ]:
                pk, event_id, name, data, socket_id, row_seq, attempts, due, created = values
                if due > now or (fresh_before and not attempts and created > fresh_before):
                    break
                if row_seq is None:
                    seq += 1
                    row_seq = seq
                    numbered.append(pk)
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
                lane.last_seq = seq
                lanes_numbered.append(lane)
        if claimed:
            _lease(rows, claimed, numbered, now + dt.timedelta(seconds=lease_seconds(len(claimed))))
        for lane in lanes_numbered:
            DeliveryLane.objects.using(alias).filter(pk=lane.pk).update(last_seq=lane.last_seq)
    return claimed


def _lease(
    rows: QuerySet[OutboxEvent], claimed: list[Claimed], numbered: list[int], until: dt.datetime
) -> None:
    """Write the claim with plain ``UPDATE ... WHERE id IN`` statements (no per-row
    ``CASE``): one per distinct try count (one on a first try), and one numbering
    the rows ``numbered``: each gets its lane's ``last_seq`` (not updated yet) plus
    its rank by ``id`` among the lane's newly numbered rows, as counted above."""
    by_attempts: dict[int, list[int]] = {}
    for row in claimed:
        by_attempts.setdefault(row.attempts, []).append(row.pk)
    for attempts, pks in by_attempts.items():
        rows.filter(pk__in=pks).update(attempts=attempts, next_attempt_at=until)
    if not numbered:
        return
    last_seq = DeliveryLane.objects.using(rows.db).filter(channel=OuterRef("channel"))
    rank = (
        rows.filter(pk__in=numbered, channel=OuterRef("channel"), pk__lte=OuterRef("pk"))
        .order_by()
        .values("channel")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows.filter(pk__in=numbered).update(
        seq=Subquery(last_seq.values("last_seq")[:1]) + Subquery(rank)
    )


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
            _no_flush_wait(alias)
            now = timezone.now()
            if outcome.delivered:
                rows.filter(pk__in=[row.pk for row in outcome.delivered]).update(
                    state=OutboxEvent.State.DELIVERED, delivered_at=now, last_error=""
                )
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
