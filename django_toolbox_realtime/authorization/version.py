"""The policy version: one value shared by every process, replaced whenever
something authorization reads (policies, groups, a user's groups) changes.

One key in Django's cache (``POLICY_CACHE``) holds a random version. It is bumped
when a ChannelPolicy, its groups, a Group or a user's groups change (immediately,
and again after the transaction commits). Each process keeps the compiled policies
and the groups of recent users in memory, tagged with the version they were read
at, and compares it on every decision (one cache read): an admin edit applies on
the next request in every process sharing the cache. A per-process cache (locmem)
cannot carry the bump to other processes: there the in-memory copies also expire
after ``POLICY_CACHE_MAX_AGE`` seconds, which bounds the staleness.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from django.core.cache import caches
from django.db import transaction

from ..conf import realtime_settings

logger = logging.getLogger("django_toolbox_realtime.policies")

VERSION_KEY = "toolbox_realtime:authz:version"
#: Seconds between two warnings (with the traceback) about the same cache outage; in
#: between, each failed read is logged at DEBUG. A cache that is down would otherwise
#: write a traceback on every authorization.
OUTAGE_WARNING_INTERVAL = 60.0

_monotonic = time.monotonic
_outage_lock = threading.Lock()
_outage_warned_at: float | None = None  # None: no outage known to this process


def forget_outage() -> None:
    """Forget a known outage (tests): the next failure warns again."""
    global _outage_warned_at
    with _outage_lock:
        _outage_warned_at = None


def _note_outage() -> None:
    global _outage_warned_at
    now = _monotonic()
    with _outage_lock:
        due = _outage_warned_at is None or now - _outage_warned_at >= OUTAGE_WARNING_INTERVAL
        if due:
            _outage_warned_at = now
    if due:
        logger.warning(
            "Cache %r unavailable; reading policies and groups from the database "
            "(said again in %d s while it lasts; each failure is logged at DEBUG).",
            realtime_settings.POLICY_CACHE,
            OUTAGE_WARNING_INTERVAL,
            exc_info=True,
        )
    else:
        logger.debug("Cache %r still unavailable.", realtime_settings.POLICY_CACHE)


def _note_recovery() -> None:
    global _outage_warned_at
    with _outage_lock:
        was_down, _outage_warned_at = _outage_warned_at is not None, None
    if was_down:
        logger.info("Cache %r available again.", realtime_settings.POLICY_CACHE)


def get_cache() -> Any:
    return caches[realtime_settings.POLICY_CACHE]


def max_age() -> float:
    return float(realtime_settings.POLICY_CACHE_MAX_AGE)


def current_version() -> str | None:
    """The shared version, created when missing; None if the cache cannot keep it
    (DummyCache, cache down): callers then read from the database every time."""
    try:
        cache = get_cache()
        version = cache.get(VERSION_KEY)
        if version is None:
            cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(VERSION_KEY)  # another process may have won the add
    except Exception:  # a cache outage must not break auth: fall back to the DB
        _note_outage()
        return None
    if _outage_warned_at is not None:
        _note_recovery()
    return str(version) if version is not None else None


def publish_new_version() -> None:
    """Write a new shared version: what every process compiled or kept in memory for
    authorization is out of date from its next decision on. Raises on a cache error."""
    get_cache().set(VERSION_KEY, uuid.uuid4().hex, timeout=None)


def publish_now_and_after_commit() -> None:
    """Publish a new version now, and again after the transaction commits: a process
    that rebuilt from the not-yet-committed state in between would otherwise keep it."""
    _publish_logging_errors()
    transaction.on_commit(_publish_logging_errors)


def _publish_logging_errors() -> None:
    # Logged, not raised: a cache outage must not fail the save that changed access
    # (entries expire after POLICY_CACHE_MAX_AGE seconds anyway).
    try:
        publish_new_version()
    except Exception:
        logger.exception(
            "Could not bump the authorization version in the cache; other "
            "processes apply the change within POLICY_CACHE_MAX_AGE seconds."
        )
