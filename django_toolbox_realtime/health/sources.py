"""Which channels health reports as active: the stored state, checked against the
server's snapshot.

The state is updated by every webhook the moment it arrives; the snapshot (one
``GET /channels`` per ``HEALTH_CACHE_SECONDS``) may be a period old. So:

* A stored row changed after the snapshot was taken (its newest event's
  ``time_ms`` is at most :data:`MARGIN_MS` before the request) is newer than the
  snapshot: there the state is right, and it is left out of the comparison.
* Every other channel must agree: active in the state exactly when the server
  lists it. Then ``matches`` is True and the state is the source (``source:
  "state"``): a join or a vacated channel shows as soon as its webhook arrived.
* When they disagree (webhooks not configured, stopped, lost, or public channels
  beyond ``STATE_MAX_PUBLIC_CHANNELS``), the server stands in (``source:
  "server"``): its list, with the rows newer than the snapshot taken from the
  state.
* Without a snapshot (the backend has no server, or it cannot be reached), the
  state is all there is (``matches`` None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import state

#: Rows whose newest event is this close to the snapshot count as newer than it
#: (clock skew between the server and Django, and the time the request took).
MARGIN_MS = 1000


@dataclass(frozen=True)
class ActiveChannels:
    names: list[str]  # sorted
    source: str  # "state" or "server"
    matches: bool | None  # the state agrees with the server (None: no snapshot)


def active_channels(snapshot: dict[str, Any] | None) -> ActiveChannels:
    """The active channels to report, given the server ``snapshot`` (or None)."""
    if not snapshot or not snapshot.get("ok"):
        return ActiveChannels(state.active_channels(), "state", None)
    rows = state.channel_times()
    fetched_ms = snapshot.get("fetched_ms")
    since = fetched_ms - MARGIN_MS if isinstance(fetched_ms, int) else None
    newer = {name for name, (_, t) in rows.items() if since is not None and t >= since}
    on_server = set(snapshot.get("channels") or {})
    stored = {name for name, (active, _) in rows.items() if active}
    matches = not ((on_server ^ stored) - newer)
    if matches:
        return ActiveChannels(sorted(stored), "state", True)
    return ActiveChannels(sorted((on_server - newer) | (stored & newer)), "server", False)
