"""The app's tables, one module per concern.

* ``policies``: ChannelPolicy, who may subscribe where (managed in the admin).
* ``state``: ChannelState, PresenceMember, live state kept from the server's webhooks
  (and RealtimeStatus, a proxy that gives the admin its status page).
* ``webhooks``: WebhookDelivery, recent webhook deliveries (outcome, dedupe digest).
* ``usage``: UsageCounter, counts every process adds to (messages sent, webhooks
  rejected), when the default cache cannot hold them for all.
* ``outbox``: OutboxEvent (events waiting to be sent, and sent ones as history) and
  DeliveryLane (per-channel sequence counter and sender lock).
"""

from .outbox import DeliveryLane, OutboxEvent
from .policies import ChannelPolicy, ChannelPolicyQuerySet, policy_rows_changed
from .state import ChannelState, PresenceMember, RealtimeStatus
from .usage import UsageCounter
from .webhooks import WebhookDelivery

__all__ = [
    "ChannelPolicy",
    "ChannelPolicyQuerySet",
    "ChannelState",
    "DeliveryLane",
    "OutboxEvent",
    "PresenceMember",
    "RealtimeStatus",
    "UsageCounter",
    "WebhookDelivery",
    "policy_rows_changed",
]
