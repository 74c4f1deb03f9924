"""The app's tables, one module per concern.

* ``policies``: ChannelPolicy, who may subscribe where (managed in the admin).
* ``state``: ChannelState, PresenceMember, live state kept from the server's webhooks
  (and RealtimeStatus, a proxy that gives the admin its status page).
* ``webhooks``: WebhookDelivery, recent webhook deliveries (outcome, dedupe digest).
"""

from .policies import ChannelPolicy, ChannelPolicyQuerySet, policy_rows_changed
from .state import ChannelState, PresenceMember, RealtimeStatus
from .webhooks import WebhookDelivery

__all__ = [
    "ChannelPolicy",
    "ChannelPolicyQuerySet",
    "ChannelState",
    "PresenceMember",
    "RealtimeStatus",
    "WebhookDelivery",
    "policy_rows_changed",
]
