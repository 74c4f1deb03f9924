"""Presence member data and signin user data, built on the server only.

What a client sends as ``channel_data``, ``user_id`` or ``user_info`` is never
read: the id is the user's primary key and the info comes from
``PRESENCE_USER_INFO`` (default :func:`default_user_info`), merged with what a
channel authorizer returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..conf import SETTINGS_NAME, realtime_settings
from ..exceptions import RealtimeConfigurationError, RealtimeValidationError
from ..validation import (
    MAX_PRESENCE_USER_INFO_BYTES,
    check_payload_size,
    to_json,
    validate_user_id,
)
from .roles import user_role


def default_user_info(user: Any) -> dict[str, Any]:
    """``{"name", "role", "avatar"}``: the full name (or username), the role, and the
    URL of ``user.avatar_url`` or of an ``avatar`` file field (None when neither)."""
    name = ""
    full_name = getattr(user, "get_full_name", None)
    if callable(full_name):
        name = full_name() or ""
    if not name:
        name = str(user.get_username()) if hasattr(user, "get_username") else str(user)
    avatar = getattr(user, "avatar_url", None)
    if callable(avatar):
        avatar = avatar()
    if avatar is None:
        field = getattr(user, "avatar", None)
        avatar = getattr(field, "url", None) if field else None
    return {"name": name, "role": user_role(user), "avatar": avatar}


def user_id_for(user: Any) -> str:
    """The protocol user id of ``user``: its primary key as a string (≤ 128 chars)."""
    return validate_user_id(str(user.pk))


def user_info_for(user: Any, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``PRESENCE_USER_INFO(user)`` updated with ``extra`` (an authorizer's dict).
    The size limit is checked when it is signed (or call :func:`check_user_info`)."""
    info = realtime_settings.PRESENCE_USER_INFO(user)
    if not isinstance(info, Mapping):
        raise RealtimeConfigurationError(
            f"{SETTINGS_NAME}['PRESENCE_USER_INFO'] must return a dict, got {type(info).__name__}."
        )
    merged = dict(info)
    if extra:
        merged.update(extra)
    return merged


def check_user_info(user_info: Mapping[str, Any]) -> str:
    """The JSON of ``user_info``; raise RealtimeValidationError above 1 KB (UTF-8)."""
    try:
        encoded = to_json(user_info)
    except (TypeError, ValueError) as exc:
        raise RealtimeValidationError(
            f"Presence user_info is not JSON-serializable: {exc}", rule="user_info_json"
        ) from exc
    check_payload_size(
        encoded,
        what="Presence user_info",
        limit=MAX_PRESENCE_USER_INFO_BYTES,
        rule="user_info_size",
        advice=f"Return less from {SETTINGS_NAME}['PRESENCE_USER_INFO'] or the channel authorizer.",
    )
    return encoded
