"""Turning the bridge off: for a block (``without_broadcasting()``) or everywhere
(``TOOLBOX_REALTIME["BROADCAST_ENABLED"] = False``).

A context variable, not a thread-local: a block in one thread or task does not
silence the others. Both are read on every save, so a test's
``override_settings`` applies at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from ..conf import realtime_settings

_silenced: ContextVar[bool] = ContextVar("toolbox_realtime_broadcasts_silenced", default=False)


@contextlib.contextmanager
def without_broadcasting() -> Iterator[None]:
    """Within the block, saves and deletes of registered models send nothing
    (imports, migrations, fixtures built by hand). Nothing is queued for later."""
    token = _silenced.set(True)
    try:
        yield
    finally:
        _silenced.reset(token)


def broadcasting_enabled() -> bool:
    """Whether the bridge sends now: the setting is on and no block silences it."""
    return bool(realtime_settings.BROADCAST_ENABLED) and not _silenced.get()
