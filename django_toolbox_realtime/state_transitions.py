"""Internal: state transitions for each event, applied to a :class:`Batch`.

Used by :mod:`django_toolbox_realtime.state`; not a public API. Each function
mutates the batch's rows in memory and records the signals to send.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from . import signals
from .models import ChannelState, PresenceMember
from .state_rows import Batch, cutoff


def occupy(b: Batch, name: str, t: int, at: dt.datetime, event: Any, reason: str) -> None:
    row = b.channel(name)
    row.last_time_ms, row.last_event_at = t, at
    if row.occupied:
        row.vacating_at = None  # a pending vacate is cancelled: no flap, no signal
        return
    row.occupied, row.occupied_since, row.vacating_at = True, at, None
    b.emit(signals.channel_occupied, channel=name, time_ms=t, event=event, reason=reason)


def vacate(
    b: Batch, name: str, t: int, at: dt.datetime, event: Any, reason: str, final: bool = False
) -> None:
    row = b.channel(name)
    known_vacated = not row._state.adding and not row.occupied
    row.last_time_ms, row.last_event_at = t, at
    if row.occupied and not final and b.grace_pending(at):
        row.vacating_at = row.vacating_at or at
        return
    if known_vacated:
        return
    row.occupied, row.vacating_at, row.subscription_count = False, None, 0
    row.vacated_at = at
    b.emit(signals.channel_vacated, channel=name, time_ms=t, event=event, reason=reason)
    for m in b.present_members(name):
        if m.last_time_ms <= t:
            leave(b, m, t, m.leaving_at or at, None, "channel_vacated")


def leave(b: Batch, m: PresenceMember, t: int, at: dt.datetime, event: Any, reason: str) -> None:
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
    if not m._state.adding and m.left_at is None:
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
    if m._state.adding:
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


def _stale_channel(b: Batch, name: str, t: int) -> bool:
    row = b.channels.get(name)
    return row is not None and row.last_time_ms > t


def _stale_member(b: Batch, channel: str, user_id: str, t: int) -> bool:
    row = b.members.get((channel, user_id))
    return row is not None and row.last_time_ms > t


def apply_one(b: Batch, ev: dict[str, Any], t: int, at: dt.datetime) -> bool:
    """Apply one validated event; False when it was older than the stored state."""
    name, channel = ev["name"], ev["channel"]
    if name == "channel_occupied" or name == "channel_vacated":
        if _stale_channel(b, channel, t):
            return False
        (occupy if name == "channel_occupied" else vacate)(b, channel, t, at, ev, "webhook")
    elif name == "member_added" or name == "member_removed":
        if _stale_member(b, channel, ev["user_id"], t):
            return False
        action = join if name == "member_added" else remove
        action(b, channel, ev["user_id"], t, at, ev, "webhook")
    elif name == "subscription_count":
        if _stale_channel(b, channel, t):
            return False
        row = b.channel(channel)
        row.subscription_count = ev["subscription_count"]
        if row._state.adding and ev["subscription_count"] > 0:
            row.occupied, row.occupied_since = True, at
        # Not an ordering point: last_time_ms is left for occupied/vacated.
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
    limit = cutoff(b.now)
    expired = ChannelState.objects.select_for_update().filter(occupied=True, vacating_at__lte=limit)
    for row in expired.order_by("name"):
        b.channels.setdefault(row.name, row)
        row = b.channels[row.name]
        if row.occupied and row.vacating_at is not None:
            vacate(
                b, row.name, row.last_time_ms, row.vacating_at, None, "grace_expired", final=True
            )
    leaving = PresenceMember.objects.select_for_update().filter(
        left_at__isnull=True, leaving_at__lte=limit
    )
    for m in leaving.order_by("channel", "user_id"):
        m = b.members.setdefault((m.channel, m.user_id), m)
        if m.left_at is None and m.leaving_at is not None:
            leave(b, m, m.last_time_ms, m.leaving_at, None, "grace_expired")
