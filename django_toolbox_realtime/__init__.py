"""django-toolbox-realtime: real-time features for Django over the Pusher Channels protocol.

The public API is imported lazily so that ``import django_toolbox_realtime``
works before Django's settings are configured::

    from django_toolbox_realtime import trigger_event, trigger_batch, send_to_user
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "trigger_event": "api",
    "trigger_batch": "api",
    "send_to_user": "api",
    "atrigger_event": "api",
    "atrigger_batch": "api",
    "asend_to_user": "api",
    "user_channel": "api",
    "online_users": "state",
    "active_channels": "state",
    "authenticate_channel": "signing",
    "authenticate_user": "signing",
    "RealtimeError": "exceptions",
    "RealtimeConfigurationError": "exceptions",
    "RealtimeValidationError": "exceptions",
    "RealtimeDeliveryError": "exceptions",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
