"""Admin pages: channel policies, the check-access page and the revoke action
(policies.py); live channels, online members and webhook deliveries (live.py); the
realtime status page (status.py)."""

from . import live, policies, status  # noqa: F401
