"""Time in the protocol's unit (Unix milliseconds) and the window in which an
event time is acceptable.

Core: webhooks check a body's ``time_ms`` against :func:`tolerance_ms`; the state
keeps rows that record an end for as long, so that no acceptable late event can
undo them.
"""

from __future__ import annotations

import datetime as dt
import time

from .conf import realtime_settings


def now_ms() -> int:
    """Now, in Unix milliseconds (the unit of a webhook's ``time_ms``)."""
    return int(time.time() * 1000)


def datetime_of(time_ms: int) -> dt.datetime:
    """The aware UTC datetime of a Unix time in milliseconds."""
    return dt.datetime.fromtimestamp(time_ms / 1000, tz=dt.timezone.utc)


def tolerance_ms() -> int:
    """``WEBHOOK_TOLERANCE_SECONDS`` in milliseconds: how far ``time_ms`` may lie
    from now, and so how long a body (and its digest) stays acceptable."""
    return int(float(realtime_settings.WEBHOOK_TOLERANCE_SECONDS) * 1000)
