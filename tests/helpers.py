"""Small helpers shared by tests: protocol signatures computed independently of the app."""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, payload: str | bytes) -> str:
    """Hex HMAC-SHA256, written here independently of the app's signing code."""
    raw = payload.encode() if isinstance(payload, str) else payload
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def channel_auth(
    key: str, secret: str, socket_id: str, channel: str, channel_data: str | None = None
) -> str:
    """The auth string for a private/presence subscription, per PROTOCOL.md."""
    parts = [socket_id, channel] + ([channel_data] if channel_data is not None else [])
    return f"{key}:{sign(secret, ':'.join(parts))}"
