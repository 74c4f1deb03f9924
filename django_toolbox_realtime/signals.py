"""Signals sent by django-toolbox-realtime. Receivers get ``sender`` plus the
keyword arguments listed. They are sent with ``send_robust``: a failing
receiver is logged and never breaks the request that sent the signal."""

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
