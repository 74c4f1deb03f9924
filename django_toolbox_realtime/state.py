"""Live channel and presence state, kept from the server's webhooks.

Read it with :func:`active_channels`, :func:`online_users` and
:func:`connected_user_count`. It is written by the webhook view (which runs
:func:`apply_events` in a write of its own, after the delivery record), by
``manage.py realtime_sync`` (:func:`reconcile`), and pruned by :func:`prune`.

Rules every writer follows (see docs/webhooks-and-health.md):

* Ordering: an event is applied to a row only if its ``time_ms`` is not older
  than the newest one already applied to that row (``last_time_ms``). Rows that
  record an end (vacated channel, member gone) are kept for the webhook tolerance
  window, so a late, older event cannot undo them.
* Signals follow state transitions: one ``member_added`` per join and one
  ``member_removed`` per leave, however webhooks are repeated, reordered or
  repaired. A ``channel_vacated`` also ends its members' presence.
* Grace period (``PRESENCE_GRACE_SECONDS``): a leave is first marked pending
  (``leaving_at`` / ``vacating_at``) and takes effect once the period has passed;
  a join within it cancels the leave and sends nothing.
* Concurrency: the rows a body touches are locked (``SELECT ... FOR UPDATE``) in
  key order inside one transaction; new rows are inserted skipping existing keys,
  and one that another process created meanwhile raises ``RowConflict`` (an
  IntegrityError): the transaction is rolled back and the body applied again
  (bounded retries: ``state_transitions.run``, the one write mechanism).

Internals: ``state_transitions`` (one write: the batch of rows it touches and
what each event does to them) and ``state_rows`` (the rows and their SQL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from . import signals
from .models import ChannelState, PresenceMember
from .state_rows import RowConflict, delete_ended
from .state_transitions import (
    Batch,
    Change,
    apply_one,
    cutoff,
    datetime_of,
    join,
    leave,
    newer,
    occupy,
    run,
    send_changes,
    settle_expired,
    vacate,
)
from .webhook_verification import now_ms as current_ms
from .webhook_verification import tolerance_ms

__all__ = [
    "Change",
    "RowConflict",
    "SyncReport",
    "active_channels",
    "apply_events",
    "connected_user_count",
    "online_users",
    "present_members",
    "prune",
    "reconcile",
    "send_changes",
]

# --- reading -------------------------------------------------------------------------


def _present(limit: dt.datetime) -> Q:
    return Q(left_at__isnull=True) & (Q(leaving_at__isnull=True) | Q(leaving_at__gt=limit))


def _active(limit: dt.datetime) -> Q:
    return Q(occupied=True) & (Q(vacating_at__isnull=True) | Q(vacating_at__gt=limit))


def present_members() -> QuerySet[PresenceMember]:
    """Rows of the members present now (left ones and expired leaves excluded)."""
    return PresenceMember.objects.filter(_present(cutoff()))


def active_channels(prefix: str | None = None) -> list[str]:
    """Names of the occupied channels (as last reported by the server), sorted."""
    rows = ChannelState.objects.filter(_active(cutoff()))
    if prefix:
        rows = rows.filter(name__startswith=prefix)
    return list(rows.order_by("name").values_list("name", flat=True))


def online_users(channel: str) -> list[str]:
    """User ids present on the presence channel ``channel``, sorted."""
    rows = present_members().filter(channel=channel)
    return list(rows.order_by("user_id").values_list("user_id", flat=True))


def connected_user_count(channels: Iterable[str] | None = None) -> int:
    """Distinct user ids present on presence channels (only ``channels`` if given)."""
    rows = present_members()
    if channels is not None:
        names = list(channels)
        if not names:
            return 0
        rows = rows.filter(channel__in=names)
    return rows.values("user_id").distinct().count()


# --- writing ---------------------------------------------------------------------------


#: Events that change a channel row, and those that change a member row.
_OCCUPANCY = ("channel_occupied", "channel_vacated", "subscription_count")
_MEMBERSHIP = ("member_added", "member_removed")


def apply_events(b: Batch, events: list[dict[str, Any]], time_ms: int) -> int:
    """Apply validated webhook events (one body, sent at ``time_ms``) in order, in
    the write ``b`` (see ``state_transitions.run``); returns how many were skipped as older than
    the stored state. The signals to send are ``b.changes``.

    Expired grace periods are settled first, by a body about channels or members
    only: ``client_event`` and ``cache_miss`` touch no row.
    """
    at = datetime_of(time_ms)
    channels = [ev["channel"] for ev in events if ev["name"] in _OCCUPANCY]
    members = [(ev["channel"], ev["user_id"]) for ev in events if ev["name"] in _MEMBERSHIP]
    vacated = [ev["channel"] for ev in events if ev["name"] == "channel_vacated"]
    if b.grace_seconds > 0 and (channels or members):
        settle_expired(b)
    b.load(channels, members, vacated)
    return sum(not apply_one(b, ev, time_ms, at) for ev in events)


# --- reconciliation with the server -------------------------------------------------------


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
    report = SyncReport()
    at = datetime_of(at_ms)

    def work(b: Batch) -> None:
        settle_expired(b)
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
        for name in sorted(names):
            row = b.channels.get(name)
            if newer(row, at_ms):
                continue
            on_server = name in server_channels
            if on_server and (row is None or not row.occupied):
                occupy(b, name, at_ms, at, None, "sync")
            elif not on_server and row is not None and row.occupied:
                vacate(b, name, at_ms, at, None, "sync")
            count = (server_channels.get(name) or {}).get("subscription_count")
            if on_server and isinstance(count, int) and not isinstance(count, bool):
                b.channel(name).subscription_count = count  # written only if it changed
        for channel in sorted(member_channels):
            present = {m.user_id: m for m in b.present_members(channel)}
            users = set(server_users.get(channel, ()))
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

    report.changes = run(work, timezone.now(), final=True)
    for change in report.changes:
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
    now = current_ms() if now_ms is None else now_ms
    return delete_ended(now - tolerance_ms() - 60_000)
