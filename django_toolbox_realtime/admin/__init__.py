"""Admin pages: channel policies, the check-access page and the revoke action
(policies.py); live channels, online members and webhook deliveries (live.py); the
realtime status page (status.py); the outbox of outgoing events (outbox.py)."""

from . import live, outbox, policies, status  # noqa: F401
