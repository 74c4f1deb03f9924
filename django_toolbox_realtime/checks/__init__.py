"""System checks: configuration mistakes reported by ``manage.py check`` at startup.

IDs: ``toolbox_realtime.E001``... errors, ``toolbox_realtime.W001``... warnings.
Each check asks the same function the runtime uses (credentials, role hierarchy,
policy rules, broadcast options), so a check and the code it guards cannot
disagree. Importing this package registers them all (``AppConfig.ready()``).
"""

from .authorization import (
    check_channel_authorization,
    check_policy_cache_shared,
    check_token_authentication,
)
from .broadcasts import check_broadcasts
from .settings import (
    check_browser_settings,
    check_delivery_settings,
    check_health_settings,
    check_settings,
)

__all__ = [
    "check_broadcasts",
    "check_browser_settings",
    "check_channel_authorization",
    "check_delivery_settings",
    "check_health_settings",
    "check_policy_cache_shared",
    "check_settings",
    "check_token_authentication",
]
