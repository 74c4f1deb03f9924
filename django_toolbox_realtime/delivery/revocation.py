"""Revoking access: close a user's live connections.

:func:`revoke_user` asks the server to terminate every connection of a signed-in
user (pusher-js ``signin``); pusher-js then reconnects only if the page asks
again, and every new subscription goes through the policies again. It also runs on
its own, after the transaction commits, when ``REVOKE_ON_USER_CHANGE`` is on and
a user lost access (``signals.access_lost``, sent by ``authorization.revocation``).
"""

from __future__ import annotations

import logging
from typing import Any

from .. import signals
from ..conf import SETTINGS_NAME, realtime_settings
from ..validation import validate_user_id
from . import server_api

logger = logging.getLogger("django_toolbox_realtime.revocation")


def revoke_user(user: Any) -> dict[str, Any]:
    """Terminate every live connection of ``user`` (a user object or a user id).

    Posts ``/apps/<app_id>/users/<id>/terminate_connections``; the user's sockets
    get ``pusher:error`` 4009 and are closed. Raises RealtimeDeliveryError when the
    server refuses or cannot be reached. Returns the server's answer
    (``{"ok": true}`` on soketi); ``{"sent": False}`` when ``ENABLED`` is False.
    """
    user_id = validate_user_id(str(getattr(user, "pk", user)))
    if not realtime_settings.ENABLED:
        logger.info(
            "%s['ENABLED'] is False: connections of user %s not terminated.", SETTINGS_NAME, user_id
        )
        return {"sent": False}
    answer = server_api.terminate_user_connections(user_id)
    logger.info("Terminated the connections of user %s.", user_id)
    return answer


def _terminate_on_access_lost(user_id: str, reason: str, **kwargs: Any) -> None:
    try:
        revoke_user(user_id)
    except Exception:  # never break the save that triggered it
        logger.exception("Could not terminate the connections of user %s (%s).", user_id, reason)


def connect_receivers() -> None:
    """Terminate the connections of a user who lost access (from AppConfig.ready())."""
    signals.access_lost.connect(_terminate_on_access_lost, dispatch_uid="trt_revoke_access_lost")
