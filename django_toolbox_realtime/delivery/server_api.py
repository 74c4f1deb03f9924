"""Queries and commands to the server's HTTP API beyond publishing events.

Every function raises :class:`RealtimeDeliveryError` (with the server's status)
or :class:`RealtimeConfigurationError`; none returns ``None`` on failure.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from ..backends import http_client as client
from ..validation import PRESENCE_PREFIX, validate_channel_name, validate_user_id


def fetch_channels(prefix: str | None = None, info: list[str] | None = None) -> dict[str, Any]:
    """``GET /channels``: ``{name: {attributes}}`` of the occupied channels."""
    params: dict[str, Any] = {}
    if prefix:
        params["filter_by_prefix"] = prefix
    if info:
        params["info"] = ",".join(info)
    answer = client.send("GET", "/channels", params)
    channels = answer.get("channels", {}) if isinstance(answer, dict) else {}
    return channels if isinstance(channels, dict) else {}


def fetch_users(channel: str) -> list[str]:
    """``GET /channels/<presence>/users``: the user ids on a presence channel."""
    validate_channel_name(channel)
    answer = client.send("GET", f"/channels/{quote(channel, safe='')}/users")
    users = answer.get("users", []) if isinstance(answer, dict) else []
    return [str(u.get("id")) for u in users if isinstance(u, dict) and "id" in u]


def terminate_user_connections(user_id: Any) -> dict[str, Any]:
    """Close every connection of a signed-in user.

    Posts ``/apps/<app_id>/users/<id>/terminate_connections``: the ``pusher``
    library 3.3.x leaves out ``/apps/<app_id>`` and soketi answers 404 to it.
    """
    uid = validate_user_id(user_id)
    answer = client.send("POST", f"/users/{quote(uid, safe='')}/terminate_connections", {})
    return answer if isinstance(answer, dict) else {}


def ping() -> float:
    """One signed round-trip to the API; returns the latency in milliseconds.

    Signed, so it also proves that APP_ID, KEY and SECRET are right (401 otherwise).
    """
    started = time.perf_counter()
    client.send("GET", "/channels", {"filter_by_prefix": PRESENCE_PREFIX})
    return (time.perf_counter() - started) * 1000.0
