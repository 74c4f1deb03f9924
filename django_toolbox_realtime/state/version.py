"""The state's own version: a random value in the default cache, replaced after
every write that changed the stored state (``batch.run``).

Whoever keeps something computed from the state (health's status cache) reads
this version before computing, stores it with the result, and uses the result
only while the version has not moved. The state tells its readers through this
value and never imports them.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.cache import cache

logger = logging.getLogger("django_toolbox_realtime.state")

KEY = "toolbox_realtime:state:version"
#: A version outlives every result computed before it was written.
TIMEOUT = 24 * 3600


def current() -> Any:
    """The current version (None when none was written yet or the cache fails)."""
    try:
        return cache.get(KEY)
    except Exception:
        logger.debug("Cache unavailable for the state version.", exc_info=True)
        return None


def bump() -> None:
    """The stored state changed: nothing computed from it before now is current."""
    try:
        cache.set(KEY, uuid.uuid4().hex, TIMEOUT)
    except Exception:
        logger.debug("Cache unavailable for the state version.", exc_info=True)
