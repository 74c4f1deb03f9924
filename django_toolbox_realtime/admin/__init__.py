"""Admin pages: channel policies and the check-access page (policies.py); live
channels, online members, webhook deliveries and the realtime status page (live.py)."""

from . import live, policies  # noqa: F401
