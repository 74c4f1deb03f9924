"""Delivery backends: where validated events go.

``BACKEND`` names one by dotted path: ``pusher`` (the server's HTTP API),
``locmem`` (an in-memory outbox for tests), ``log`` and ``null``.
"""

from __future__ import annotations

import threading

from django.utils.module_loading import import_string

from ..conf import SETTINGS_NAME, on_reload, realtime_settings
from ..exceptions import RealtimeConfigurationError
from .base import BaseBackend, OutgoingEvent

__all__ = ["BaseBackend", "OutgoingEvent", "get_backend"]

_lock = threading.Lock()
_backend: BaseBackend | None = None


def get_backend() -> BaseBackend:
    """The configured backend instance (shared; rebuilt when settings change)."""
    global _backend
    backend = _backend
    if backend is None:
        with _lock:
            if _backend is None:
                path = realtime_settings.BACKEND
                try:
                    cls = import_string(path)
                except ImportError as exc:
                    raise RealtimeConfigurationError(
                        f"{SETTINGS_NAME}['BACKEND'] = {path!r} cannot be imported: {exc}"
                    ) from exc
                _backend = cls()
            backend = _backend
    return backend


@on_reload
def reset_backend() -> None:
    global _backend
    with _lock:
        _backend = None
