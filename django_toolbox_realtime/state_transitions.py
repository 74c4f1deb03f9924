"""Internal: one state write — the batch of rows it touches, and what each event
does to them.

Used by :mod:`django_toolbox_realtime.state` and the webhook view; not a public
API. A write (:func:`run`) loads (and locks) the rows it needs once into a
:class:`Batch`, the transition functions change them in memory and record the
signals to send, and the batch writes the changed rows back (``state_rows``
holds the rows and their SQL). :func:`run` is the one transaction and retry
policy of every state write; after a write that changed the stored state it
drops health's cached status.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, connections, router, transaction
from django.dispatch import Signal
from django.utils import timezone

from . import signals
from .conf import realtime_settings
from .models import ChannelState
from .state_rows import Adapter, ChannelRow, MemberRow, select_locked, write_rows

logger = logging.getLogger("django_toolbox_realtime.state")

T = TypeVar("T")

#: Attempts of one write (see :func:`retried`).
ATTEMPTS = 6


@dataclass(slots=True)
class Change:
    """A signal to send once the state it describes is stored."""

    signal: Signal
    kwargs: dict[str, Any]


def send_changes(changes: Iterable[Change], sender: Any) -> None:
    """Send each change's signal with ``send_robust``; log receivers that fail."""
    for change in changes:
        for receiver, result in change.signal.send_robust(sender=sender, **change.kwargs):
            if isinstance(result, Exception):
                logger.error(
                    "A receiver of a realtime signal failed: %r",
                    receiver,
                    exc_info=(type(result), result, result.__traceback__),
                )


#: Signals that change no stored row: relayed as they come.
_RELAYED = (signals.client_event, signals.cache_miss)


def state_changed(changes: Iterable[Change]) -> bool:
    """Whether ``changes`` include one of the stored state (anything but a relayed
    ``client_event`` or ``cache_miss``)."""
    return any(change.signal not in _RELAYED for change in changes)


def cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """Pending leaves older than this have taken effect."""
    now = now or timezone.now()
    return now - dt.timedelta(seconds=float(realtime_settings.PRESENCE_GRACE_SECONDS))


def datetime_of(time_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(time_ms / 1000, tz=dt.timezone.utc)


# --- the batch ---------------------------------------------------------------------------


class Batch:
    """The rows one write touches, loaded (and locked) once, changed in memory and
    written back by :meth:`save` through ``cursor``; ``changes`` are the signals
    to send after commit."""

    def __init__(self, now: dt.datetime, cursor: Any, final: bool = False) -> None:
        self.now = now
        # One Django cursor of the state's database, in the write's transaction: for
        # every statement of the write (the webhook view's delivery record too).
        self.cursor = cursor
        self.final = final  # ignore the grace period (reconciliation is authoritative)
        self.grace_seconds = float(realtime_settings.PRESENCE_GRACE_SECONDS)
        self.channels: dict[str, ChannelRow] = {}
        self.members: dict[tuple[str, str], MemberRow] = {}
        self.dirty_channels: set[str] = set()
        self.dirty_members: set[tuple[str, str]] = set()
        self.whole_channels: set[str] = set()  # channels whose present members are loaded
        self.changes: list[Change] = []

    def grace_pending(self, at: dt.datetime) -> bool:
        """True while a leave at ``at`` is still within the grace period."""
        return (
            not self.final
            and self.grace_seconds > 0
            and at > self.now - dt.timedelta(seconds=self.grace_seconds)
        )

    def load(
        self,
        channels: Iterable[str],
        members: Iterable[tuple[str, str]],
        member_channels: Iterable[str] = (),
    ) -> None:
        """Lock and load channel rows, member rows, and the present members of
        ``member_channels`` (channels about to be vacated), each in key order."""
        names = sorted(set(channels) - self.channels.keys())
        if names:
            for row in select_locked(self.cursor, ChannelRow, [("name", names)]):
                self.channels.setdefault(row.name, row)
        wanted = set(members) - self.members.keys()
        whole = sorted(set(member_channels) - self.whole_channels)
        if wanted or whole:
            parts: list[tuple[str, Any]] = []
            if whole:
                parts.append(("present_on", whole))
            if wanted:
                parts.append(
                    ("pairs", (sorted({c for c, _ in wanted}), sorted({u for _, u in wanted})))
                )
            for m in select_locked(self.cursor, MemberRow, parts):
                self.members.setdefault((m.channel, m.user_id), m)
            self.whole_channels.update(whole)

    def load_expired(self, limit: dt.datetime) -> tuple[list[ChannelRow], list[MemberRow]]:
        """Lock and load the pending leaves older than ``limit`` (a row already in
        the batch is returned as the batch's own instance)."""
        channels = [
            self.channels.setdefault(row.name, row)
            for row in select_locked(self.cursor, ChannelRow, [("expired", limit)])
        ]
        members = [
            self.members.setdefault((m.channel, m.user_id), m)
            for m in select_locked(self.cursor, MemberRow, [("expired", limit)])
        ]
        return channels, members

    def channel(self, name: str) -> ChannelRow:
        row = self.channels.get(name)
        if row is None:
            row = self.channels[name] = ChannelRow(name)
        self.dirty_channels.add(name)
        return row

    def member(self, channel: str, user_id: str) -> MemberRow:
        row = self.members.get((channel, user_id))
        if row is None:
            row = self.members[(channel, user_id)] = MemberRow(channel, user_id)
        self.dirty_members.add((channel, user_id))
        return row

    def present_members(self, channel: str) -> list[MemberRow]:
        """The members of ``channel`` not gone, as this batch sees them (locked)."""
        self.load([], [], [channel])
        return [
            m for (c, _), m in sorted(self.members.items()) if c == channel and m.left_at is None
        ]

    def emit(self, signal: Signal, **kwargs: Any) -> None:
        self.changes.append(Change(signal, kwargs))

    def save(self) -> None:
        """Write the changed rows back, in key order (the order they were locked
        in); a new row another process inserted meanwhile raises RowConflict."""
        adapt = Adapter(self.cursor.db)
        channels = [self.channels[name] for name in sorted(self.dirty_channels)]
        members = [self.members[key] for key in sorted(self.dirty_members)]
        write_rows(self.cursor, ChannelRow, channels, adapt)
        write_rows(self.cursor, MemberRow, members, adapt)


def retried(attempt: Callable[[], T]) -> T:
    """The one retry policy of the app's writes: ``attempt()`` again after a
    conflict (IntegrityError: a row another process created meanwhile) or a
    transient lock error (OperationalError: SQLite "database is locked", a
    PostgreSQL deadlock victim), at most :data:`ATTEMPTS` times in all, with a
    short exponential pause between attempts (10-160 ms)."""
    for n in range(ATTEMPTS):
        try:
            return attempt()
        except (IntegrityError, OperationalError) as exc:
            if n == ATTEMPTS - 1:
                raise
            logger.info("Concurrent write (%s); trying again.", type(exc).__name__)
            time.sleep(0.01 * 2**n + random.uniform(0, 0.01))
    raise AssertionError("unreachable")


def run(work: Callable[[Batch], None], now: dt.datetime, final: bool = False) -> list[Change]:
    """``work`` in one transaction of the state's database (a savepoint when
    nested), its rows written back, retried whole on conflict (:func:`retried`);
    returns the changes (signals to send).

    Any other exception ``work`` raises rolls the transaction back and propagates
    (the webhook view stops a repeated body that way). Once the transaction is
    over, a write that changed the stored state drops health's cached status.
    """
    connection = connections[router.db_for_write(ChannelState)]

    def attempt() -> list[Change]:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            batch = Batch(now, cursor, final)
            work(batch)
            batch.save()
        return batch.changes

    changes = retried(attempt)
    if state_changed(changes):
        from . import health  # health reads the state: imported when first needed

        health.forget_cached_status()
    return changes


# --- transitions -------------------------------------------------------------------------


def occupy(b: Batch, name: str, t: int, at: dt.datetime, event: Any, reason: str) -> None:
    row = b.channel(name)
    row.last_time_ms, row.last_event_at = t, at
    if row.occupied:
        row.vacating_at = None  # a pending vacate is cancelled: no flap, no signal
        return
    row.occupied, row.occupied_since, row.vacating_at = True, at, None
    b.emit(signals.channel_occupied, channel=name, time_ms=t, event=event, reason=reason)


def vacate(b: Batch, name: str, t: int, at: dt.datetime, event: Any, reason: str) -> None:
    row = b.channel(name)
    known_vacated = not row.new and not row.occupied
    row.last_time_ms, row.last_event_at = t, at
    if row.occupied and b.grace_pending(at):
        row.vacating_at = row.vacating_at or at
        return
    if known_vacated:
        return
    row.occupied, row.vacating_at, row.subscription_count = False, None, 0
    row.vacated_at = at
    b.emit(signals.channel_vacated, channel=name, time_ms=t, event=event, reason=reason)
    for m in b.present_members(name):
        if not newer(m, t):
            leave(b, m, t, m.leaving_at or at, None, "channel_vacated")


def leave(b: Batch, m: MemberRow, t: int, at: dt.datetime, event: Any, reason: str) -> None:
    b.dirty_members.add((m.channel, m.user_id))
    m.last_time_ms = max(m.last_time_ms, t)
    m.left_at, m.leaving_at = at, m.leaving_at or at
    b.emit(
        signals.member_removed,
        channel=m.channel,
        user_id=m.user_id,
        time_ms=t,
        event=event,
        reason=reason,
    )


def join(
    b: Batch, channel: str, user_id: str, t: int, at: dt.datetime, event: Any, reason: str
) -> None:
    m = b.member(channel, user_id)
    m.last_time_ms = t
    if not m.new and m.left_at is None:
        m.leaving_at = None  # a pending leave is cancelled: no flap, no signal
        return
    m.joined_at, m.leaving_at, m.left_at = at, None, None
    b.emit(
        signals.member_added,
        channel=channel,
        user_id=user_id,
        time_ms=t,
        event=event,
        reason=reason,
    )


def remove(
    b: Batch, channel: str, user_id: str, t: int, at: dt.datetime, event: Any, reason: str
) -> None:
    m = b.member(channel, user_id)
    if m.new:
        m.joined_at = at
    elif m.left_at is not None:
        m.last_time_ms = t
        return
    elif b.grace_pending(at):
        m.last_time_ms = t
        m.leaving_at = m.leaving_at or at
        return
    leave(b, m, t, at, event, reason)


# --- events ------------------------------------------------------------------------------


def newer(row: ChannelRow | MemberRow | None, t: int) -> bool:
    """Whether ``row`` (None: not stored) holds an event newer than ``t``: an event
    at ``t`` must then leave it alone."""
    return row is not None and row.last_time_ms > t


def apply_one(b: Batch, ev: dict[str, Any], t: int, at: dt.datetime) -> bool:
    """Apply one validated event; False when it was older than the stored state."""
    name, channel = ev["name"], ev["channel"]
    if name == "channel_occupied" or name == "channel_vacated":
        if newer(b.channels.get(channel), t):
            return False
        (occupy if name == "channel_occupied" else vacate)(b, channel, t, at, ev, "webhook")
    elif name == "member_added" or name == "member_removed":
        if newer(b.members.get((channel, ev["user_id"])), t):
            return False
        action = join if name == "member_added" else remove
        action(b, channel, ev["user_id"], t, at, ev, "webhook")
    elif name == "subscription_count":
        if newer(b.channels.get(channel), t):
            return False
        row = b.channel(channel)
        row.subscription_count = ev["subscription_count"]
        if row.new and ev["subscription_count"] > 0:
            # Subscribers on a channel not known yet: occupied, through the same
            # transition (and signal) as channel_occupied, which then changes nothing.
            occupy(b, channel, t, at, ev, "webhook")
        # Otherwise not an ordering point: last_time_ms is left for occupied/vacated.
        b.emit(
            signals.subscription_count,
            channel=channel,
            subscription_count=ev["subscription_count"],
            time_ms=t,
            event=ev,
        )
    elif name == "client_event":
        b.emit(
            signals.client_event,
            channel=channel,
            event_name=ev["event"],
            data=ev["data"],
            socket_id=ev["socket_id"],
            user_id=ev["user_id"],
            time_ms=t,
            event=ev,
        )
    elif name == "cache_miss":
        b.emit(signals.cache_miss, channel=channel, time_ms=t, event=ev)
    return True


def settle_expired(b: Batch) -> None:
    """Make pending leaves whose grace period has passed take effect."""
    channels, members = b.load_expired(cutoff(b.now))
    for row in channels:
        if row.occupied and row.vacating_at is not None:
            vacate(b, row.name, row.last_time_ms, row.vacating_at, None, "grace_expired")
    for m in members:
        if m.left_at is None and m.leaving_at is not None:
            leave(b, m, m.last_time_ms, m.leaving_at, None, "grace_expired")
