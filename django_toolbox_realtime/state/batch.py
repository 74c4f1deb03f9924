"""One state write: the batch of rows it touches, loaded (and locked) once, and
the one transaction and retry mechanism every state write goes through.

A write (:func:`run`) loads the rows it needs into a :class:`Batch`, the
transitions (``transitions``) change them in memory and record the signals to
send, and the batch writes the changed rows back (``rows`` and ``row_sql`` hold
the rows and their SQL). After a write that changed the stored state, :func:`run`
bumps the state's version (``version``), which readers of the state such as
health's status cache compare: the state never imports its readers.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.dispatch import Signal
from django.utils import timezone

from .. import signals
from ..conf import realtime_settings
from ..db import retried
from ..models import ChannelState
from ..validation import channel_kind
from . import version
from .row_sql import Adapter, count_public, select_locked, write_rows
from .rows import ChannelRow, MemberRow

logger = logging.getLogger("django_toolbox_realtime.state")


@dataclass(slots=True)
class Change:
    """A signal to send once the state it describes is stored."""

    signal: Signal
    kwargs: dict[str, Any]


def send_changes(changes: Iterable[Change], sender: Any) -> None:
    """Send each change's signal with ``send_robust``; log receivers that fail."""
    for change in changes:
        signals.send_logged(change.signal, sender, logger, **change.kwargs)


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
        # New public rows this write may still create (None: not counted yet).
        self.public_room: int | None = None

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

    def admits(self, name: str) -> bool:
        """Whether this write may keep a row for channel ``name``: always for a row
        it has and for channels that need a signature; for a new public channel
        (anyone may invent one) only while fewer than ``STATE_MAX_PUBLIC_CHANNELS``
        are stored. Call it before the transition that would create the row."""
        if name in self.channels or channel_kind(name) != "public":
            return True
        if self.public_room is None:
            cap = int(realtime_settings.STATE_MAX_PUBLIC_CHANNELS)
            self.public_room = cap - count_public(self.cursor)
        if self.public_room <= 0:
            return False
        self.public_room -= 1
        return True

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


def run(work: Callable[[Batch], None], now: dt.datetime, final: bool = False) -> list[Change]:
    """``work`` in one transaction of the state's database (a savepoint when
    nested), its rows written back, retried whole on conflict (:func:`retried`);
    returns the changes (signals to send).

    Any other exception ``work`` raises rolls the transaction back and propagates
    (the webhook view stops a repeated body that way). Once the transaction is
    over, a write that changed the stored state bumps the state's version.
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
        version.bump()
    return changes
