"""Small helpers shared by tests: protocol signatures computed independently of the app."""

from __future__ import annotations

import hashlib
import hmac
from io import StringIO
from typing import Any
from urllib.parse import urlencode


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


# --- the pusher-js endpoints, as the tests call them ----------------------------------

AUTH_URL = "/api/v1/pusher/auth"
USER_AUTH_URL = "/api/v1/pusher/user-auth"


def form_post(client: Any, url: str = AUTH_URL, **fields: str) -> Any:
    """POST form-encoded, like pusher-js."""
    return client.post(url, urlencode(fields), content_type="application/x-www-form-urlencoded")


def bearer_headers(user: Any) -> dict[str, str]:
    """``Authorization: Bearer <token>`` for ``user`` (its DRF token, created if needed),
    as keyword arguments of a test client request."""
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {token.key}"}


def seed_demo(*args: str) -> str:
    """Run the example project's ``seed_demo`` command; return what it printed."""
    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()
