"""Internal: the rows one state write touches, locked and written in bulk.

Used by :mod:`django_toolbox_realtime.state`; not a public API.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, connections, router, transaction
from django.db.models import Model
from django.dispatch import Signal
from django.utils import timezone

from .conf import realtime_settings
from .models import ChannelState, PresenceMember

logger = logging.getLogger("django_toolbox_realtime.state")

CHANNEL_FIELDS = [
    "occupied",
    "occupied_since",
    "vacated_at",
    "vacating_at",
    "subscription_count",
    "last_event_at",
    "last_time_ms",
]
MEMBER_FIELDS = ["joined_at", "leaving_at", "left_at", "last_time_ms"]
ATTEMPTS = 3
M = TypeVar("M", bound=Model)


def cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """Pending leaves older than this have taken effect."""
    now = now or timezone.now()
    return now - dt.timedelta(seconds=float(realtime_settings.PRESENCE_GRACE_SECONDS))


def grace_enabled() -> bool:
    # Pending leaves exist only when a grace period is (or was) configured.
    return float(realtime_settings.PRESENCE_GRACE_SECONDS) > 0


@dataclass
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


def datetime_of(time_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(time_ms / 1000, tz=dt.timezone.utc)


# --- the batch ---------------------------------------------------------------------------


@dataclass
class Batch:
    """The rows one write touches, loaded (and locked) once, changed in memory,
    written back by :meth:`save`; ``changes`` are the signals to send after commit."""

    now: dt.datetime
    final: bool = False  # ignore the grace period (reconciliation is authoritative)
    channels: dict[str, ChannelState] = field(default_factory=dict)
    members: dict[tuple[str, str], PresenceMember] = field(default_factory=dict)
    dirty_channels: set[str] = field(default_factory=set)
    dirty_members: set[tuple[str, str]] = field(default_factory=set)
    changes: list[Change] = field(default_factory=list)
    whole_channels: set[str] = field(default_factory=set)  # present members all loaded

    def grace_pending(self, at: dt.datetime) -> bool:
        """True while a leave at ``at`` is still within the grace period."""
        return not self.final and grace_enabled() and at > cutoff(self.now)

    def load(
        self,
        channels: Iterable[str],
        members: Iterable[tuple[str, str]],
        member_channels: Iterable[str] = (),
    ) -> None:
        """Lock and load channel rows, member rows, and the present members of
        ``member_channels`` (channels about to be vacated), each in key order."""
        names = sorted(set(channels) - set(self.channels))
        if names:
            for row in locked(ChannelState, [("name", names)], ["name"]):
                self.channels.setdefault(row.name, row)
        wanted = set(members) - set(self.members)
        whole = sorted(set(member_channels) - self.whole_channels)
        if wanted or whole:
            parts: list[tuple[str, Any]] = []
            if whole:
                parts.append(("present_on", whole))
            if wanted:
                parts.append(
                    ("pairs", (sorted({c for c, _ in wanted}), sorted({u for _, u in wanted})))
                )
            for m in locked(PresenceMember, parts, ["channel", "user_id"]):
                self.members.setdefault((m.channel, m.user_id), m)
            self.whole_channels.update(whole)

    def channel(self, name: str) -> ChannelState:
        row = self.channels.get(name)
        if row is None:
            row = self.channels[name] = ChannelState(name=name)
        self.dirty_channels.add(name)
        return row

    def member(self, channel: str, user_id: str) -> PresenceMember:
        row = self.members.get((channel, user_id))
        if row is None:
            row = PresenceMember(channel=channel, user_id=user_id, joined_at=self.now)
            self.members[(channel, user_id)] = row
        self.dirty_members.add((channel, user_id))
        return row

    def present_members(self, channel: str) -> list[PresenceMember]:
        """The members of ``channel`` not gone, as this batch sees them (locked)."""
        self.load([], [], [channel])
        return [
            m for (c, _), m in sorted(self.members.items()) if c == channel and m.left_at is None
        ]

    def emit(self, signal: Signal, **kwargs: Any) -> None:
        self.changes.append(Change(signal, kwargs))

    def save(self) -> None:
        new_c = [
            self.channels[n] for n in sorted(self.dirty_channels) if self.channels[n]._state.adding
        ]
        old_c = [
            self.channels[n]
            for n in sorted(self.dirty_channels)
            if not self.channels[n]._state.adding
        ]
        new_m = [
            self.members[k] for k in sorted(self.dirty_members) if self.members[k]._state.adding
        ]
        old_m = [
            self.members[k] for k in sorted(self.dirty_members) if not self.members[k]._state.adding
        ]
        if old_c:
            update_rows(ChannelState, old_c, CHANNEL_FIELDS)
        if old_m:
            update_rows(PresenceMember, old_m, MEMBER_FIELDS)
        # A new row another process inserted meanwhile raises IntegrityError here:
        # the caller rolls back and applies everything again, now finding that row.
        if new_c:
            ChannelState.objects.bulk_create(new_c)
        if new_m:
            PresenceMember.objects.bulk_create(new_m)


def column(model: type[Model], name: str) -> str:
    field: Any = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return str(field.column)


def locked(model: type[M], parts: list[tuple[str, Any]], order: list[str]) -> list[M]:
    """Rows matching any of ``parts``, locked (``FOR UPDATE`` where supported) in
    ``order``. Raw SQL: compiling the ORM query cost more than running it.

    ``parts``: ``("name", [names])``, ``("present_on", [channels])`` (members not
    gone) or ``("pairs", ([channels], [user ids]))``.
    """
    alias = router.db_for_write(model)
    connection = connections[alias]
    q = connection.ops.quote_name

    def col(name: str) -> str:
        return q(column(model, name))

    def marks(values: list[str]) -> str:
        return ", ".join(["%s"] * len(values))

    where, params = [], []
    for kind, values in parts:
        if kind == "name":
            where.append(f"{col('name')} IN ({marks(values)})")
            params += values
        elif kind == "present_on":
            where.append(f"({col('channel')} IN ({marks(values)}) AND {col('left_at')} IS NULL)")
            params += values
        else:
            chans, users = values
            where.append(
                f"({col('channel')} IN ({marks(chans)}) AND {col('user_id')} IN ({marks(users)}))"
            )
            params += chans + users
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = "SELECT * FROM {} WHERE {} ORDER BY {}{}".format(  # noqa: S608 (names from the model)
        q(model._meta.db_table), " OR ".join(where), ", ".join(col(c) for c in order), lock
    )
    return list(model._default_manager.db_manager(alias).raw(sql, params))


def update_rows(model: type[Model], rows: list[Any], names: list[str]) -> None:
    """``UPDATE ... WHERE id = %s`` for each (locked) row, as one ``executemany``.

    ``bulk_update`` builds a CASE expression per field and costs more to compile
    than the database takes to run it; this is the hot path of every webhook.
    """
    connection = connections[router.db_for_write(model)]
    fields: list[Any] = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 (names from the model)
        quote(model._meta.db_table),
        ", ".join(f"{quote(column(model, f.name))} = %s" for f in fields),
        quote(column(model, "pk")),
    )
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def run(work: Callable[[Batch], None], now: dt.datetime, final: bool = False) -> list[Change]:
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                batch = Batch(now=now, final=final)
                work(batch)
                batch.save()
                return batch.changes
        except (IntegrityError, OperationalError):
            # A new row inserted meanwhile by another process, or a deadlock between
            # two writers (PostgreSQL picks one victim): roll back, apply again.
            if attempt == ATTEMPTS - 1:
                raise
            logger.info("Concurrent write on the same channel state; applying again.")
    raise AssertionError("unreachable")
