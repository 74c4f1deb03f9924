"""Keeping the state true and bounded: :func:`reconcile` makes it match a snapshot
of the server (``manage.py realtime_sync``), :func:`prune` deletes rows that only
record an end once no acceptable webhook can be older."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from .. import clock, signals
from ..clock import datetime_of
from ..models import ChannelState, PresenceMember
from .batch import Batch, Change, run
from .row_sql import delete_ended
from .transitions import join, leave, newer, occupy, settle_expired, vacate


@dataclass
class SyncReport:
    occupied: list[str] = field(default_factory=list)
    vacated: list[str] = field(default_factory=list)
    joined: list[tuple[str, str]] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def reconcile(
    server_channels: dict[str, dict[str, Any]],
    server_users: dict[str, list[str]],
    *,
    at_ms: int,
    prefix: str | None = None,
) -> SyncReport:
    """Make the stored state match what the server reported at ``at_ms``.

    ``server_channels``: the occupied channels (``GET /channels``);
    ``server_users``: user ids per presence channel (``GET /channels/<c>/users``).
    Rows written by a webhook newer than ``at_ms`` are left alone. Only channels
    starting with ``prefix`` are considered, when given.
    """
    at = datetime_of(at_ms)

    def work(b: Batch) -> None:
        settle_expired(b)
        names, member_channels = _load_repair_rows(b, server_channels, server_users, prefix)
        _reconcile_channels(b, names, server_channels, at_ms, at)
        for channel in sorted(member_channels):
            _reconcile_members(b, channel, set(server_users.get(channel, ())), at_ms, at)

    return _report_of(run(work, timezone.now(), final=True))


def _load_repair_rows(
    b: Batch,
    server_channels: dict[str, dict[str, Any]],
    server_users: dict[str, list[str]],
    prefix: str | None,
) -> tuple[set[str], set[str]]:
    """Lock and load the rows the repair may touch; return the channels to reconcile
    and the channels whose members to reconcile."""
    stored = ChannelState.objects.filter(occupied=True)
    stored_members = PresenceMember.objects.filter(left_at__isnull=True)
    if prefix:
        stored = stored.filter(name__startswith=prefix)
        stored_members = stored_members.filter(channel__startswith=prefix)
    occupied = set(stored.values_list("name", flat=True))
    names = occupied | set(server_channels)
    member_channels = set(stored_members.values_list("channel", flat=True))
    member_channels |= set(server_users)
    # Every row the repair may touch, locked in two statements before it starts
    # (channels, then members: the order of every writer), whatever the number
    # of channels: the members of channels with members or about to be vacated,
    # and the rows of the members the server reports.
    wanted = [(channel, user) for channel, users in server_users.items() for user in users]
    b.load(names, wanted, member_channels | (occupied - set(server_channels)))
    return names, member_channels


def _reconcile_channels(
    b: Batch,
    names: set[str],
    server_channels: dict[str, dict[str, Any]],
    at_ms: int,
    at: dt.datetime,
) -> None:
    """Occupy or vacate each of ``names`` as the server has it, and copy its count."""
    for name in sorted(names):
        row = b.channels.get(name)
        if newer(row, at_ms) or not b.admits(name):
            continue
        on_server = name in server_channels
        if on_server and (row is None or not row.occupied):
            occupy(b, name, at_ms, at, None, "sync")
        elif not on_server and row is not None and row.occupied:
            vacate(b, name, at_ms, at, None, "sync")
        count = (server_channels.get(name) or {}).get("subscription_count")
        if on_server and isinstance(count, int) and not isinstance(count, bool):
            b.channel(name).subscription_count = count  # written only if it changed


def _reconcile_members(
    b: Batch, channel: str, users: set[str], at_ms: int, at: dt.datetime
) -> None:
    """Join the ``users`` the server has on ``channel``, and remove the others."""
    present = {m.user_id: m for m in b.present_members(channel)}
    for user_id in sorted(users):
        m = b.members.get((channel, user_id))
        if newer(m, at_ms):
            continue
        if user_id in present:
            if m is not None and m.leaving_at is not None:
                m.leaving_at = None  # the server still has them: cancel the leave
                b.dirty_members.add((channel, user_id))
            continue
        join(b, channel, user_id, at_ms, at, None, "sync")
    for user_id, m in sorted(present.items()):
        if user_id not in users and not newer(m, at_ms) and m.left_at is None:
            leave(b, m, at_ms, at, None, "sync")


def _report_of(changes: list[Change]) -> SyncReport:
    """The :class:`SyncReport` of a repair's ``changes``."""
    report = SyncReport(changes=changes)
    for change in changes:
        kw = change.kwargs
        if change.signal is signals.channel_occupied:
            report.occupied.append(kw["channel"])
        elif change.signal is signals.channel_vacated:
            report.vacated.append(kw["channel"])
        elif change.signal is signals.member_added:
            report.joined.append((kw["channel"], kw["user_id"]))
        elif change.signal is signals.member_removed:
            report.left.append((kw["channel"], kw["user_id"]))
    return report


# --- pruning ------------------------------------------------------------------------------


def prune(now_ms: int | None = None) -> int:
    """Delete rows that only record an end, once no acceptable webhook can be older.

    Returns how many rows were deleted.
    """
    now = clock.now_ms() if now_ms is None else now_ms
    return delete_ended(now - clock.tolerance_ms() - 60_000)
