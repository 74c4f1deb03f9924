"""What the server says, asked at most once per ``HEALTH_CACHE_SECONDS``.

However often health is polled, and by however many processes sharing the
default cache, one ``GET /channels`` is made per period:

* a fresh snapshot in the cache is used as is;
* otherwise the right to ask is a cache key for the current period slot
  (``cache.add`` is atomic, so one caller per slot wins), and it is refused when
  the previous slot's right was taken less than a period ago — so two requests
  are never closer than a period, even across a slot boundary;
* callers that lose use the last snapshot, or wait briefly for the winner's.

If the cache itself fails, the same logic runs on a per-process store.
The snapshot holds no credentials; errors are reduced to a status code.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from django.core.cache import cache

from ..clock import now_ms
from ..conf import SETTINGS_NAME, realtime_settings
from ..delivery import server_api
from ..exceptions import RealtimeConfigurationError, RealtimeDeliveryError

logger = logging.getLogger("django_toolbox_realtime.health")

SNAPSHOT_KEY = "toolbox_realtime:health:server"
SLOT_KEY = "toolbox_realtime:health:server:slot:{}"

#: The clock used for periods (tests replace it to move time forward).
clock = time.time


class _LocalStore:
    """A tiny per-process stand-in for the cache when the cache is down."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            expires, value = self._data.get(key, (0.0, default))
            return value if expires > time.monotonic() else default

    def add(self, key: str, value: Any, timeout: float) -> bool:
        with self._lock:
            expires, _ = self._data.get(key, (0.0, None))
            if expires > time.monotonic():
                return False
            self._data[key] = (time.monotonic() + timeout, value)
            return True

    def set(self, key: str, value: Any, timeout: float) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + timeout, value)


_local = _LocalStore()


def _call(method: str, *args: Any) -> Any:
    try:
        return getattr(cache, method)(*args)
    except Exception:  # any cache backend error: fall back to this process
        logger.warning(
            "Cache unavailable for the health snapshot; using process memory.", exc_info=True
        )
        return getattr(_local, method)(*args)


def period() -> float:
    return max(0.001, float(realtime_settings.HEALTH_CACHE_SECONDS))


def _may_fetch(now: float) -> bool:
    p = period()
    slot = int(now // p)
    previous = _call("get", SLOT_KEY.format(slot - 1))
    if isinstance(previous, (int, float)) and now - previous < p:
        return False
    return bool(_call("add", SLOT_KEY.format(slot), now, max(1, math.ceil(3 * p))))


def fetch() -> dict[str, Any]:
    """Ask the server once (``GET /channels``); never raises, never holds a secret."""
    started = time.perf_counter()
    snapshot: dict[str, Any] = {"ok": False, "latency_ms": None, "channels": {}, "error": None}
    try:
        channels = server_api.fetch_channels()
    except RealtimeDeliveryError as exc:
        if exc.status == 401:
            snapshot["error"] = "the server refused the credentials (401): check KEY and SECRET"
        elif exc.status:
            snapshot["error"] = f"the server answered {exc.status}"
        else:
            snapshot["error"] = "the server could not be reached"
    except RealtimeConfigurationError:
        snapshot["error"] = f"{SETTINGS_NAME} is invalid: run manage.py check"
    except Exception:
        logger.exception("Unexpected error while asking the server for health.")
        snapshot["error"] = "unexpected error (see the logs)"
    else:
        snapshot["ok"] = True
        snapshot["channels"] = {
            str(name): info if isinstance(info, dict) else {} for name, info in channels.items()
        }
    snapshot["latency_ms"] = round((time.perf_counter() - started) * 1000.0, 1)
    return snapshot


def snapshot(wait_seconds: float | None = None) -> dict[str, Any]:
    """The server's state, at most ``HEALTH_CACHE_SECONDS`` old when it can be.

    Adds ``age_seconds`` and ``cached`` (False for the caller that asked).
    """
    now = clock()
    p = period()
    cached = _call("get", SNAPSHOT_KEY)
    if cached is not None and now - cached["fetched_at"] < p:
        return {**cached, "age_seconds": round(now - cached["fetched_at"], 1), "cached": True}
    if _may_fetch(now):
        # fetched_ms: the wall-clock time the server was asked (webhooks' time unit),
        # to tell stored rows newer than the snapshot (see ``sources``).
        fetched_ms = now_ms()
        fresh = {**fetch(), "fetched_at": now, "fetched_ms": fetched_ms}
        _call("set", SNAPSHOT_KEY, fresh, max(60, math.ceil(6 * p)))
        return {**fresh, "age_seconds": 0.0, "cached": False}
    if cached is None:
        # Another caller is asking right now: wait for its answer (bounded).
        wait = float(realtime_settings.TIMEOUT) + 1 if wait_seconds is None else wait_seconds
        deadline = time.monotonic() + wait
        while cached is None and time.monotonic() < deadline:
            time.sleep(0.05)
            cached = _call("get", SNAPSHOT_KEY)
        if cached is None:
            return {
                "ok": False,
                "latency_ms": None,
                "channels": {},
                "cached": True,
                "error": "a server check is in progress",
                "age_seconds": None,
            }
    return {**cached, "age_seconds": round(now - cached["fetched_at"], 1), "cached": True}
