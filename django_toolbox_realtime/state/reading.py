"""Reading the live state: what the server last reported, as the webhooks (and
``realtime_sync``) stored it. A pending leave counts as present until its grace
period (``PRESENCE_GRACE_SECONDS``) has passed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from ..models import ChannelState, PresenceMember
from .batch import cutoff


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


def channel_times() -> dict[str, tuple[bool, int]]:
    """Every stored channel row (occupied or recently vacated): name -> (active now,
    ``time_ms`` of the newest event applied to it). For comparing the state with a
    snapshot of the server taken at a known time."""
    limit = cutoff()
    rows = ChannelState.objects.values_list("name", "occupied", "vacating_at", "last_time_ms")
    return {
        name: (occupied and (vacating_at is None or vacating_at > limit), int(last_time_ms))
        for name, occupied, vacating_at, last_time_ms in rows
    }


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
