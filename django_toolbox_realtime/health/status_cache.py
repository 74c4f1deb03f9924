"""The computed Pusher status, kept for ``HEALTH_CACHE_SECONDS``.

Monitors poll health often, and computing the status runs every check (several
queries and cache reads). The whole ``data`` of ``/health/pusher/status`` is kept
in the default cache for the period, so a warm request is one cache read
(``get_many``: the entry and the state version) plus rendering.

* Freshness is judged on :data:`server.clock` and never outlives the server
  snapshot the entry shows: an entry is fresh while both it and that snapshot
  are younger than the period.
* Every state write that changed the stored state (a webhook, a grace period
  settled, ``realtime_sync``) bumps the state's version once its transaction is
  over (``state.version``); an entry carries the version read before it was
  computed, so an entry computed from the old state is never used again, even
  when it is stored after that write.
* Entries are per settings generation (tests change settings at run time).
* A failing cache means no caching: the status is computed on every request.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.cache import cache

from ..conf import on_reload
from ..state import version as state_version
from . import server

logger = logging.getLogger("django_toolbox_realtime.health")

STATUS_KEY = "toolbox_realtime:health:status:{}"

# Entries are per settings generation (bumped on every settings reload).
_generation = 0


@on_reload
def _settings_changed() -> None:
    global _generation
    _generation += 1


def lookup() -> tuple[dict[str, Any] | None, Any]:
    """(the cached status if still fresh else None, the current state version)."""
    key = STATUS_KEY.format(_generation)
    try:
        found = cache.get_many([key, state_version.KEY])
    except Exception:
        logger.debug("Cache unavailable for the health status.", exc_info=True)
        return None, None
    version, entry = found.get(state_version.KEY), found.get(key)
    if not isinstance(entry, dict) or entry.get("version") != version:
        return None, version
    age = server.clock() - entry["fresh_from"]
    if not 0 <= age < server.period():
        return None, version
    return entry["data"], version


def store(data: dict[str, Any], version: Any, fresh_from: float) -> None:
    """Keep ``data``, computed from state ``version``, fresh from ``fresh_from``."""
    entry = {"data": data, "version": version, "fresh_from": fresh_from}
    try:
        cache.set(STATUS_KEY.format(_generation), entry, math.ceil(server.period()) + 1)
    except Exception:
        logger.debug("Cache unavailable for the health status.", exc_info=True)
