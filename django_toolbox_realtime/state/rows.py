"""State rows as plain objects: what a write loads, changes in memory and writes
back (their SQL is in ``row_sql``).

The hot path of every webhook: building model instances costs several times more
than the database takes to run the few statements a webhook needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar

from django.db import IntegrityError
from django.db.models import Model

from ..models import ChannelState, PresenceMember


class RowConflict(IntegrityError):
    """A row this write meant to create was created meanwhile by another process."""


# --- rows --------------------------------------------------------------------------------


class Row:
    """A row as plain attributes; ``pk`` is None until it is stored.

    A row loaded from the database carries only the columns the transitions read
    (``READ``, remembered in ``loaded``, so that only changed ones are written
    back); the ``WRITE_ONLY`` columns are written when assigned, and reading one
    before assigning it raises AttributeError, on purpose. A new row has them all
    (a member's ``joined_at`` once the transition that creates it has set it).
    """

    __slots__ = ("pk", "loaded")
    KIND: ClassVar[str]  # the key of the class in ROWS (compiled SQL is cached by it)
    MODEL: ClassVar[type[Model]]
    KEY: ClassVar[tuple[str, ...]]
    READ: ClassVar[tuple[str, ...]]
    WRITE_ONLY: ClassVar[tuple[str, ...]]

    pk: int | None
    loaded: tuple[Any, ...]

    @classmethod
    def from_db(cls, record: Sequence[Any], tz: dt.tzinfo | None) -> Row:
        """The row from a record of ``pk``, ``KEY`` and ``READ`` columns."""
        raise NotImplementedError

    @property
    def new(self) -> bool:
        return self.pk is None

    def changed(self) -> tuple[str, ...]:
        """The columns to write back (of a loaded row)."""
        names = [
            name
            for name, old in zip(self.READ, self.loaded, strict=True)
            if getattr(self, name) != old
        ]
        names += [name for name in self.WRITE_ONLY if hasattr(self, name)]
        return tuple(names)


class ChannelRow(Row):
    """A ``ChannelState`` row."""

    __slots__ = (
        "name",
        "occupied",
        "vacating_at",
        "last_time_ms",
        "occupied_since",
        "vacated_at",
        "subscription_count",
        "last_event_at",
    )
    KIND = "channel"
    MODEL = ChannelState
    KEY = ("name",)
    # subscription_count is read so that an unchanged count is not written again
    # (realtime_sync assigns it on every occupied channel).
    READ = ("occupied", "vacating_at", "last_time_ms", "subscription_count")
    WRITE_ONLY = ("occupied_since", "vacated_at", "last_event_at")

    def __init__(self, name: str) -> None:  # a new row, with the model's defaults
        self.pk = None
        self.loaded = ()
        self.name = name
        self.occupied = False
        self.vacating_at: dt.datetime | None = None
        self.last_time_ms = 0
        self.occupied_since: dt.datetime | None = None
        self.vacated_at: dt.datetime | None = None
        self.subscription_count: int | None = None
        self.last_event_at: dt.datetime | None = None

    @classmethod
    def from_db(cls, record: Sequence[Any], tz: dt.tzinfo | None) -> ChannelRow:
        row = cls.__new__(cls)
        row.pk, row.name, occupied, vacating_at, row.last_time_ms, row.subscription_count = record
        row.occupied = bool(occupied)
        row.vacating_at = _aware(vacating_at, tz)
        row.loaded = (row.occupied, row.vacating_at, row.last_time_ms, row.subscription_count)
        return row


class MemberRow(Row):
    """A ``PresenceMember`` row."""

    __slots__ = ("channel", "user_id", "leaving_at", "left_at", "last_time_ms", "joined_at")
    KIND = "member"
    MODEL = PresenceMember
    KEY = ("channel", "user_id")
    READ = ("leaving_at", "left_at", "last_time_ms")
    WRITE_ONLY = ("joined_at",)

    joined_at: dt.datetime  # set by the transition that creates the member (join, remove)

    def __init__(self, channel: str, user_id: str) -> None:
        self.pk = None
        self.loaded = ()
        self.channel = channel
        self.user_id = user_id
        self.leaving_at: dt.datetime | None = None
        self.left_at: dt.datetime | None = None
        self.last_time_ms = 0

    @classmethod
    def from_db(cls, record: Sequence[Any], tz: dt.tzinfo | None) -> MemberRow:
        row = cls.__new__(cls)
        row.pk, row.channel, row.user_id, leaving_at, left_at, row.last_time_ms = record
        row.leaving_at, row.left_at = _aware(leaving_at, tz), _aware(left_at, tz)
        row.loaded = (row.leaving_at, row.left_at, row.last_time_ms)
        return row


ROWS: dict[str, type[Row]] = {"channel": ChannelRow, "member": MemberRow}


def _aware(value: Any, tz: dt.tzinfo | None) -> Any:
    # Backends without time zone support return naive datetimes in the connection's
    # time zone: what the ORM's converters would make aware.
    if value is not None and tz is not None and value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value
