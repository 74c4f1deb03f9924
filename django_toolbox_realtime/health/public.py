"""What health shows to whom.

Staff users and monitors with ``HEALTH_TOKEN`` see the whole report (``"view":
"full"``). Everyone else (``"view": "public"``) gets what an uptime monitor needs
and nothing an attacker could use: the status and the counts — never channel
names (private, presence, ``#server-to-user-``, public), the server's address,
the backend, message counts or why a check failed (SECURITY_CASES 33).

The reports are computed (and cached) whole, once for everybody; each request
gets its own filtered copy, so nothing of one caller's view reaches another's.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from ..conf import realtime_settings
from .settings_checks import token_problem

#: The keys of ``/health/pusher/status`` that anyone may see.
PUBLIC_STATUS_KEYS = ("status", "pusher_enabled", "connected_users", "total_channels", "checked_at")
FULL, PUBLIC = "full", "public"


def token_matches(authorization: str) -> bool:
    """Whether an ``Authorization`` header value is ``Bearer <HEALTH_TOKEN>``.

    Compared in constant time (as digests, so not even the length shows). No
    token set, or one the system check refuses, matches nothing. Never logged.
    """
    token = realtime_settings.HEALTH_TOKEN
    if token is None or token_problem(token):
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    digest = hashlib.sha256(given.strip().encode("utf-8", "replace")).digest()
    return hmac.compare_digest(digest, hashlib.sha256(token.encode("utf-8")).digest())


def status_view(data: dict[str, Any], full: bool) -> dict[str, Any]:
    """The ``data`` of ``/health/pusher/status`` for a caller."""
    if full:
        return {**data, "view": FULL}
    return {**{key: data[key] for key in PUBLIC_STATUS_KEYS if key in data}, "view": PUBLIC}


def health_view(data: dict[str, Any], full: bool) -> dict[str, Any]:
    """The ``data`` of ``/health`` for a caller: each service's status only, and the
    Pusher part as :func:`status_view` has it."""
    services = dict(data.get("services") or {})
    pusher = services.pop("pusher", None)
    if not full:
        services = {name: {"status": service.get("status")} for name, service in services.items()}
    if pusher is not None:
        services["pusher"] = status_view(pusher, full)
    if full:
        return {**data, "services": services, "view": FULL}
    return {"status": data.get("status"), "services": services, "view": PUBLIC}
