"""Signals sent by django-toolbox-realtime. Receivers get ``sender`` plus the
keyword arguments listed. They are sent with ``send_robust``: a failing
receiver is logged and never breaks the request that sent the signal."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

# --- channel authorization ------------------------------------------------------
#: A subscription was signed. kwargs: request, user, channel, socket_id, decision
channel_authorized = Signal()
#: A subscription was refused. kwargs: request, user, channel, socket_id, decision
channel_denied = Signal()

# --- webhooks (sent after the state is stored) ------------------------------------
# Occupancy and membership signals follow state transitions: one per join/leave,
# however webhooks are repeated, reordered or repaired. ``event`` is the webhook's
# event dict, or None when ``reason`` is not "webhook": "channel_vacated" (a member
# ended by its channel's vacate), "grace_expired" (PRESENCE_GRACE_SECONDS passed),
# "sync" (manage.py realtime_sync). See docs/webhooks-and-health.md.
#: kwargs: channel, time_ms, event, reason
channel_occupied = Signal()
channel_vacated = Signal()
#: kwargs: channel, user_id, time_ms, event, reason
member_added = Signal()
member_removed = Signal()
#: kwargs: channel, event_name, data, socket_id, user_id, time_ms, event
client_event = Signal()
#: kwargs: channel, time_ms, event
cache_miss = Signal()
#: kwargs: channel, subscription_count, time_ms, event
subscription_count = Signal()

# --- revocation ----------------------------------------------------------------------
#: A signed-in user lost access (deactivated, deleted, role lowered) and
#: ``REVOKE_ON_USER_CHANGE`` is on; sent after the transaction commits. The app's own
#: receiver terminates the user's live connections. sender: the user model.
#: kwargs: user_id, reason
access_lost = Signal()


def send_logged(signal: Signal, sender: Any, logger: logging.Logger, **kwargs: Any) -> list[Any]:
    """``signal.send_robust(sender, **kwargs)``, logging every receiver that raised
    (with its traceback) on ``logger``: a failing receiver never breaks the request
    or the write that sent the signal."""
    results = signal.send_robust(sender=sender, **kwargs)
    for receiver, result in results:
        if isinstance(result, Exception):
            logger.error(
                "A receiver of a realtime signal failed: %r",
                receiver,
                exc_info=(type(result), result, result.__traceback__),
            )
    return results
