"""Live channel and presence state, kept from the server's webhooks.

Read it with :func:`active_channels`, :func:`online_users` and
:func:`connected_user_count`. It is written by the webhook view
(:func:`apply_events`), by ``manage.py realtime_sync`` (:func:`reconcile`), and
pruned by :func:`prune`.

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
  (bounded retries).

Internals: ``state_transitions`` (one write: the batch of rows it touches and
what each event does to them) and ``state_rows`` (the rows and their SQL).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from . import signals
from .conf import realtime_settings
from .models import ChannelState, PresenceMember
from .state_rows import RowConflict, delete_ended
from .state_transitions import (
    Batch,
    Change,
    apply,
    apply_one,
    cutoff,
    datetime_of,
    join,
    leave,
    occupy,
    run,
    send_changes,
    settle_expired,
    vacate,
)

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
    "settle",
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


def apply_events(
    events: list[dict[str, Any]],
    time_ms: int,
    *,
    now: dt.datetime | None = None,
    cursor: Any = None,
) -> tuple[list[Change], int]:
    """Apply validated webhook events (one body) in order.

    Returns the changes (signals to send after commit) and how many events were
    skipped as older than the stored state. Given a ``cursor`` (the webhook
    view's), the events are applied through it in the transaction it is in, with
    no savepoint: a conflict raises :class:`RowConflict` and the caller retries
    its whole transaction. Otherwise they are applied in their own transaction
    (a savepoint when nested), retried on conflict.
    """
    stale = [0]
    at = datetime_of(time_ms)
    occupancy = ("channel_occupied", "channel_vacated", "subscription_count")
    membership = ("member_added", "member_removed")
    channels = [ev["channel"] for ev in events if ev["name"] in occupancy]
    members = [(ev["channel"], ev["user_id"]) for ev in events if ev["name"] in membership]
    vacated = [ev["channel"] for ev in events if ev["name"] == "channel_vacated"]

    def work(b: Batch) -> None:
        stale[0] = 0
        if b.grace_seconds > 0:
            settle_expired(b)
        b.load(channels, members, vacated)
        for ev in events:
            if not apply_one(b, ev, time_ms, at):
                stale[0] += 1

    now = now or timezone.now()
    changes = run(work, now) if cursor is None else apply(work, now, cursor)
    return changes, stale[0]


def settle(now: dt.datetime | None = None) -> list[Change]:
    """Apply the leaves whose grace period has passed; returns the changes to send."""
    return run(settle_expired, now or timezone.now())


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
        if prefix:
            stored = stored.filter(name__startswith=prefix)
        names = set(stored.values_list("name", flat=True)) | set(server_channels)
        b.load(names, [])
        for name in sorted(names):
            row = b.channels.get(name)
            if row is not None and row.last_time_ms > at_ms:
                continue
            on_server = name in server_channels
            if on_server and (row is None or not row.occupied):
                occupy(b, name, at_ms, at, None, "sync")
            elif not on_server and row is not None and row.occupied:
                vacate(b, name, at_ms, at, None, "sync")
            count = (server_channels.get(name) or {}).get("subscription_count")
            if on_server and isinstance(count, int) and not isinstance(count, bool):
                b.channel(name).subscription_count = count
        stored_members = PresenceMember.objects.filter(left_at__isnull=True)
        if prefix:
            stored_members = stored_members.filter(channel__startswith=prefix)
        member_channels = set(stored_members.values_list("channel", flat=True))
        for channel in sorted(member_channels | set(server_users)):
            present = {m.user_id: m for m in b.present_members(channel)}
            wanted = set(server_users.get(channel, ()))
            b.load([], [(channel, u) for u in wanted])
            for user_id in sorted(wanted):
                m = b.members.get((channel, user_id))
                if m is not None and m.last_time_ms > at_ms:
                    continue
                if user_id in present:
                    if m is not None and m.leaving_at is not None:
                        m.leaving_at = None  # the server still has them: cancel the leave
                        b.dirty_members.add((channel, user_id))
                    continue
                join(b, channel, user_id, at_ms, at, None, "sync")
            for user_id, m in sorted(present.items()):
                if user_id not in wanted and m.last_time_ms <= at_ms and m.left_at is None:
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
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    limit = now_ms - int(float(realtime_settings.WEBHOOK_TOLERANCE_SECONDS) * 1000) - 60_000
    return delete_ended(limit)
