"""Roles: an ordered hierarchy (``ROLE_HIERARCHY``) and who has which role
(``ROLE_RESOLVER``).

A user may subscribe where a policy's ``min_role`` is at or below their role.
Least privilege everywhere: anonymous and inactive users, users without a role
and users whose role is not in the hierarchy get no role level, so no policy
allows them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from typing import Any

from . import authz_cache
from .conf import SETTINGS_NAME, on_reload, realtime_settings
from .exceptions import RealtimeConfigurationError

# Per-request memo on the user object: its groups as (id, name) pairs, loaded in one
# query and shared by the role resolver, allowed-groups checks and presence info.
_GROUPS_ATTR = "_toolbox_realtime_groups"
# Left on the user object by prime_groups when its groups were not in memory: the
# authorization version the decision already read, for the load that follows.
_VERSION_ATTR = "_toolbox_realtime_version"
_UNKNOWN: Any = object()


_hierarchy: dict[str, int] | None = None


def hierarchy() -> dict[str, int]:
    """``ROLE_HIERARCHY``: role name -> level (higher = more privileged)."""
    global _hierarchy
    if _hierarchy is None:
        value = realtime_settings.ROLE_HIERARCHY
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in value.items()
        ):
            raise RealtimeConfigurationError(
                f"{SETTINGS_NAME}['ROLE_HIERARCHY'] must map role names to integer levels."
            )
        _hierarchy = dict(value)
    return _hierarchy


@on_reload
def _forget_hierarchy() -> None:
    global _hierarchy
    _hierarchy = None


def role_level(role: str | None) -> int | None:
    """The level of ``role``, or None when it is not in the hierarchy."""
    if not role:
        return None
    return hierarchy().get(role)


def top_role() -> str | None:
    """The most privileged role (what superusers get)."""
    roles = hierarchy()
    return max(roles, key=lambda name: roles[name]) if roles else None


def user_groups(user: Any) -> list[tuple[int, str]]:
    """The user's groups as ``(id, name)``: memoized on the user object and kept in
    this process, tagged with the authorization version (see authz_cache), so a
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
    if time.monotonic() - entry[1] >= authz_cache.max_age():
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
        version = authz_cache.current_version()
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


def default_role_resolver(user: Any) -> str | None:
    """Superuser = top role; else a non-empty string ``role`` attribute; else the
    most privileged of the user's groups named like a role; else None."""
    if getattr(user, "is_superuser", False):
        return top_role()
    role = getattr(user, "role", None)
    if callable(role):
        role = role()
    if isinstance(role, str) and role:
        return role  # an unknown role stays unknown (no level): it is not upgraded
    roles = hierarchy()
    named = [name for _, name in user_groups(user) if name in roles]
    return max(named, key=lambda name: roles[name]) if named else None


def user_role(user: Any) -> str | None:
    """The role of ``user`` by ``ROLE_RESOLVER``; None for anonymous or inactive users."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not getattr(user, "is_active", True):
        return None
    role = realtime_settings.ROLE_RESOLVER(user)
    return role if isinstance(role, str) and role else None


def has_role(user: Any, min_role: str) -> bool:
    """Whether ``user``'s role is at least ``min_role``. False when either role is
    not in the hierarchy."""
    needed = role_level(min_role)
    have = role_level(user_role(user))
    return needed is not None and have is not None and have >= needed
