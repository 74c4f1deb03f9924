"""The group cache: each user's groups, loaded in one query and kept in memory.

The role resolver, a policy's allowed-groups check and presence info all read a
user's groups. They are memoized on the user object (per request) and kept in this
process for recent users, tagged with the policy version they were read at
(``version``), so a warm auth request makes no query for them; a version bump (a
group or membership changed) makes every process read them again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from typing import Any

from ..conf import on_reload
from . import version as policy_version

# Per-request memo on the user object: its groups as (id, name) pairs, loaded in one
# query and shared by the role resolver, allowed-groups checks and presence info.
_GROUPS_ATTR = "_toolbox_realtime_groups"
# Left on the user object by prime_groups when its groups were not in memory: the
# authorization version the decision already read, for the load that follows.
_VERSION_ATTR = "_toolbox_realtime_version"
_UNKNOWN: Any = object()


def user_groups(user: Any) -> list[tuple[int, str]]:
    """The user's groups as ``(id, name)``: memoized on the user object and kept in
    this process, tagged with the policy version (see ``version``), so a
    warm auth request makes no query for them."""
    cached = getattr(user, _GROUPS_ATTR, None)
    if cached is None:
        cached = _load_groups(user)
        with contextlib.suppress(AttributeError):  # a read-only user object
            setattr(user, _GROUPS_ATTR, cached)
    return cached


# user pk -> (version, loaded at (monotonic), groups); the least recently loaded go first.
_groups_by_user: OrderedDict[Any, tuple[str, float, list[tuple[int, str]]]] = OrderedDict()
_groups_lock = threading.Lock()
MAX_USERS_IN_MEMORY = 10_000


def groups_in_memory(user_pk: Any, version: str | None) -> list[tuple[int, str]] | None:
    """The groups of ``user_pk`` kept in this process at ``version``, or None."""
    if version is None:
        return None
    entry = _groups_by_user.get(user_pk)
    if entry is None or entry[0] != version:
        return None
    if time.monotonic() - entry[1] >= policy_version.max_age():
        return None
    return entry[2]


def _query_groups(user: Any) -> list[tuple[int, str]]:
    """The user's groups as ``(id, name)``, read from the database (one query)."""
    groups = getattr(user, "groups", None)
    if groups is None or getattr(user, "pk", None) is None:
        return []
    return [(int(gid), str(name)) for gid, name in groups.values_list("id", "name")]


def _load_groups(user: Any) -> list[tuple[int, str]]:
    pk = getattr(user, "pk", None)
    if pk is None:
        return []
    version = getattr(user, _VERSION_ATTR, _UNKNOWN)
    if version is _UNKNOWN:
        version = policy_version.current_version()
        cached = groups_in_memory(pk, version)
        if cached is not None:
            return cached
    else:  # primed by a decision that found nothing in memory at this version
        with contextlib.suppress(AttributeError):
            delattr(user, _VERSION_ATTR)
    # The version was read before the rows: if it moved in between, these rows keep
    # the old version and are not reused.
    rows = _query_groups(user)
    if version is not None:
        with _groups_lock:
            _groups_by_user[pk] = (version, time.monotonic(), rows)
            _groups_by_user.move_to_end(pk)
            while len(_groups_by_user) > MAX_USERS_IN_MEMORY:
                _groups_by_user.popitem(last=False)
    return rows


@on_reload
def forget_all_groups() -> None:
    with _groups_lock:
        _groups_by_user.clear()


def prime_groups(user: Any, version: str | None) -> None:
    """Prepare ``user`` for a decision at ``version`` (already read from the cache):
    memoize its groups kept in this process at that version, or else remember the
    version, so that loading them later costs no second cache read."""
    if getattr(user, _GROUPS_ATTR, None) is not None:
        return
    groups = groups_in_memory(getattr(user, "pk", None), version)
    with contextlib.suppress(AttributeError):  # a read-only user object
        if groups is not None:
            setattr(user, _GROUPS_ATTR, groups)
        else:
            setattr(user, _VERSION_ATTR, version)


def forget_groups(user: Any) -> None:
    """Drop the memoized groups (after the user's groups changed)."""
    for name in (_GROUPS_ATTR, _VERSION_ATTR):
        if hasattr(user, name):
            delattr(user, name)


def reload_groups(user: Any) -> None:
    """Memoize the user's groups straight from the database (bypassing the cache)."""
    rows = _query_groups(user)
    with contextlib.suppress(AttributeError):
        setattr(user, _GROUPS_ATTR, rows)
