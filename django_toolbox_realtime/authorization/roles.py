"""Roles: an ordered hierarchy (``ROLE_HIERARCHY``) and who has which role
(``ROLE_RESOLVER``).

A user may subscribe where a policy's ``min_role`` is at or below their role.
By default (:func:`default_role_resolver`) roles come from the superuser flag, a
``role`` attribute, or groups named after the roles in any letter case (a group
``Student`` gives the role ``student``); :func:`role_source` says so in words.
Least privilege everywhere: anonymous and inactive users, users without a role
and users whose role is not in the hierarchy get no role level, so no policy
allows them.
"""

from __future__ import annotations

from typing import Any

from ..conf import SETTINGS_NAME, on_reload, realtime_settings
from ..exceptions import RealtimeConfigurationError
from ..validation import is_int
from .groups import user_groups

_hierarchy: dict[str, int] | None = None
# casefolded role name -> the hierarchy's spelling (names that clash when folded are left out)
_folded: dict[str, str] | None = None


def is_valid_hierarchy(value: Any) -> bool:
    """Whether ``value`` has the shape of ``ROLE_HIERARCHY``: role names to integer
    levels (the one copy of the rule: the system check asks it too)."""
    return isinstance(value, dict) and all(
        isinstance(name, str) and is_int(level) for name, level in value.items()
    )


def hierarchy() -> dict[str, int]:
    """``ROLE_HIERARCHY``: role name -> level (higher = more privileged)."""
    global _hierarchy
    if _hierarchy is None:
        value = realtime_settings.ROLE_HIERARCHY
        if not is_valid_hierarchy(value):
            raise RealtimeConfigurationError(
                f"{SETTINGS_NAME}['ROLE_HIERARCHY'] must map role names to integer levels."
            )
        _hierarchy = dict(value)
    return _hierarchy


def _roles_by_folded_name() -> dict[str, str]:
    """Role names by their casefolded spelling, for matching group names; a folded
    name that two roles share (``Admin`` and ``admin``) matches neither."""
    global _folded
    if _folded is None:
        seen: dict[str, list[str]] = {}
        for name in hierarchy():
            seen.setdefault(name.casefold(), []).append(name)
        _folded = {folded: names[0] for folded, names in seen.items() if len(names) == 1}
    return _folded


def _role_of_group(name: str) -> str | None:
    """The role a group called ``name`` gives: the exact spelling first, then any case."""
    return name if name in hierarchy() else _roles_by_folded_name().get(name.casefold())


@on_reload
def _forget_hierarchy() -> None:
    global _hierarchy, _folded
    _hierarchy = None
    _folded = None


def role_level(role: str | None) -> int | None:
    """The level of ``role``, or None when it is not in the hierarchy."""
    if not role:
        return None
    return hierarchy().get(role)


def top_role() -> str | None:
    """The most privileged role (what superusers get)."""
    roles = hierarchy()
    return max(roles, key=lambda name: roles[name]) if roles else None


def default_role_resolver(user: Any) -> str | None:
    """Superuser = top role; else a non-empty string ``role`` attribute; else the
    most privileged of the user's groups named like a role (in any letter case:
    ``Student`` gives ``student``); else None."""
    if getattr(user, "is_superuser", False):
        return top_role()
    role = getattr(user, "role", None)
    if callable(role):
        role = role()
    if isinstance(role, str) and role:
        return role  # an unknown role stays unknown (no level): it is not upgraded
    roles = hierarchy()
    named = [role for _, group in user_groups(user) if (role := _role_of_group(group))]
    return max(named, key=lambda name: roles[name]) if named else None


def role_source() -> str:
    """Where roles come from, in words (for the ``no_role`` reason and the admin)."""
    resolver = realtime_settings.ROLE_RESOLVER
    if resolver is not default_role_resolver:
        path = f"{getattr(resolver, '__module__', '?')}.{getattr(resolver, '__qualname__', '?')}"
        return f"Roles come from {SETTINGS_NAME}['ROLE_RESOLVER'] = {path}."
    roles = hierarchy()
    return (
        f"Roles come from {SETTINGS_NAME}['ROLE_RESOLVER'] (the default: superusers have "
        "the top role, otherwise a user's role attribute, otherwise a group named like a "
        f"role, in any letter case: {', '.join(sorted(roles, key=roles.__getitem__))})."
    )


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
