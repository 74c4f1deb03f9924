"""What each event does to the rows of a write: occupy, vacate, join, leave,
remove, and the settling of expired grace periods.

Each transition changes rows of a :class:`~.batch.Batch` in memory and records
the signal to send (one per real change: a repeated, reordered or repaired
event sends nothing new). ``time_ms`` is the event's time in milliseconds (the
ordering key, ``last_time_ms``); ``at`` is the same instant as a datetime, for
the timestamp columns.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .. import signals
from ..clock import datetime_of
from .batch import Batch, cutoff
from .rows import ChannelRow, MemberRow


def occupy(b: Batch, name: str, time_ms: int, at: dt.datetime, event: Any, reason: str) -> None:
    row = b.channel(name)
    row.last_time_ms, row.last_event_at = time_ms, at
    if row.occupied:
        row.vacating_at = None  # a pending vacate is cancelled: no flap, no signal
        return
    row.occupied, row.occupied_since, row.vacating_at = True, at, None
    b.emit(signals.channel_occupied, channel=name, time_ms=time_ms, event=event, reason=reason)


def vacate(b: Batch, name: str, time_ms: int, at: dt.datetime, event: Any, reason: str) -> None:
    row = b.channel(name)
    known_vacated = not row.new and not row.occupied
    row.last_time_ms, row.last_event_at = time_ms, at
    if row.occupied and b.grace_pending(at):
        row.vacating_at = row.vacating_at or at
        return
    if known_vacated:
        return
    row.occupied, row.vacating_at, row.subscription_count = False, None, 0
    row.vacated_at = at
    b.emit(signals.channel_vacated, channel=name, time_ms=time_ms, event=event, reason=reason)
    for m in b.present_members(name):
        if not newer(m, time_ms):
            leave(b, m, time_ms, m.leaving_at or at, None, "channel_vacated")


def leave(b: Batch, m: MemberRow, time_ms: int, at: dt.datetime, event: Any, reason: str) -> None:
    b.dirty_members.add((m.channel, m.user_id))
    m.last_time_ms = max(m.last_time_ms, time_ms)
    m.left_at, m.leaving_at = at, m.leaving_at or at
    _emit_member(b, signals.member_removed, m, time_ms, event, reason)


def join(
    b: Batch, channel: str, user_id: str, time_ms: int, at: dt.datetime, event: Any, reason: str
) -> None:
    m = b.member(channel, user_id)
    m.last_time_ms = time_ms
    if not m.new and m.left_at is None:
        m.leaving_at = None  # a pending leave is cancelled: no flap, no signal
        return
    m.joined_at, m.leaving_at, m.left_at = at, None, None
    _emit_member(b, signals.member_added, m, time_ms, event, reason)


def _emit_member(
    b: Batch, signal: Any, m: MemberRow, time_ms: int, event: Any, reason: str
) -> None:
    b.emit(
        signal,
        channel=m.channel,
        user_id=m.user_id,
        time_ms=time_ms,
        event=event,
        reason=reason,
    )


def remove(
    b: Batch, channel: str, user_id: str, time_ms: int, at: dt.datetime, event: Any, reason: str
) -> None:
    m = b.member(channel, user_id)
    if m.new:
        m.joined_at = at
    elif m.left_at is not None:
        m.last_time_ms = time_ms
        return
    elif b.grace_pending(at):
        m.last_time_ms = time_ms
        m.leaving_at = m.leaving_at or at
        return
    leave(b, m, time_ms, at, event, reason)


# --- events ------------------------------------------------------------------------------


#: Events that change a channel row, and those that change a member row.
_OCCUPANCY = ("channel_occupied", "channel_vacated", "subscription_count")
_MEMBERSHIP = ("member_added", "member_removed")


def apply_events(b: Batch, events: list[dict[str, Any]], time_ms: int) -> int:
    """Apply validated webhook events (one body, sent at ``time_ms``) in order, in
    the write ``b`` (see ``batch.run``); returns how many were skipped as older than
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


def newer(row: ChannelRow | MemberRow | None, time_ms: int) -> bool:
    """Whether ``row`` (None: not stored) holds an event newer than ``time_ms``: an
    event at ``time_ms`` must then leave it alone."""
    return row is not None and row.last_time_ms > time_ms


def apply_one(b: Batch, ev: dict[str, Any], time_ms: int, at: dt.datetime) -> bool:
    """Apply one validated event; False when it was older than the stored state."""
    name, channel = ev["name"], ev["channel"]
    if name in _OCCUPANCY and not b.admits(channel):
        return True  # a public channel beyond the cap: not stored (nor signalled)
    if name == "channel_occupied" or name == "channel_vacated":
        if newer(b.channels.get(channel), time_ms):
            return False
        (occupy if name == "channel_occupied" else vacate)(b, channel, time_ms, at, ev, "webhook")
    elif name == "member_added" or name == "member_removed":
        if newer(b.members.get((channel, ev["user_id"])), time_ms):
            return False
        action = join if name == "member_added" else remove
        action(b, channel, ev["user_id"], time_ms, at, ev, "webhook")
    elif name == "subscription_count":
        if newer(b.channels.get(channel), time_ms):
            return False
        row = b.channel(channel)
        row.subscription_count = ev["subscription_count"]
        if row.new and ev["subscription_count"] > 0:
            # Subscribers on a channel not known yet: occupied, through the same
            # transition (and signal) as channel_occupied, which then changes nothing.
            occupy(b, channel, time_ms, at, ev, "webhook")
        # Otherwise not an ordering point: last_time_ms is left for occupied/vacated.
        b.emit(
            signals.subscription_count,
            channel=channel,
            subscription_count=ev["subscription_count"],
            time_ms=time_ms,
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
            time_ms=time_ms,
            event=ev,
        )
    elif name == "cache_miss":
        b.emit(signals.cache_miss, channel=channel, time_ms=time_ms, event=ev)
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
