"""Auth signatures for pusher-js: channel subscriptions and user signin.

These helpers validate and sign; they make **no** access decision. The app's
auth views call them only after :func:`django_toolbox_realtime.decide`
allowed the subscription. Use them directly only in a view of your own that
decides first::

    from django_toolbox_realtime import authenticate_channel
    return JsonResponse(authenticate_channel(socket_id, channel_name))

Signatures (PROTOCOL.md): ``auth = "<key>:" + hex(HMAC-SHA256(secret, S))`` with
``S = "<socket_id>:<channel>"`` (``":<channel_data>"`` appended for presence) or
``S = "<socket_id>::user::<user_data>"`` for signin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..conf import realtime_settings
from ..credentials import credentials_problem
from ..crypto import shared_secret, sign
from ..exceptions import RealtimeConfigurationError, RealtimeValidationError
from ..validation import (
    SIGNED_KINDS,
    channel_kind,
    to_json,
    validate_channel_name,
    validate_socket_id,
    validate_user_id,
)
from .presence import check_user_info


def _credentials() -> tuple[str, str]:
    """``(key, secret)``; RealtimeConfigurationError when they are unusable (the
    check is cached per settings load by conf.credentials_problem)."""
    problem = credentials_problem()
    if problem:
        raise RealtimeConfigurationError(f"Cannot sign: {problem}")
    return str(realtime_settings.KEY), str(realtime_settings.SECRET)


def _member_json(id_key: str, user_id: Any, user_info: Mapping[str, Any] | None) -> str:
    """``{"<id_key>": "<id>", "user_info": {...}}`` as compact JSON: the same bytes as
    ``to_json`` of that dict, reusing the user_info JSON that was just measured."""
    encoded_id = to_json(validate_user_id(user_id))
    if user_info is None:
        return f'{{"{id_key}":{encoded_id}}}'
    return f'{{"{id_key}":{encoded_id},"user_info":{check_user_info(user_info)}}}'


def presence_channel_data(user_id: Any, user_info: Mapping[str, Any] | None = None) -> str:
    """The ``channel_data`` string: ``{"user_id": "...", "user_info": {...}}``."""
    return _member_json("user_id", user_id, user_info)


def authenticate_channel(
    socket_id: Any,
    channel_name: Any,
    user_id: Any = None,
    user_info: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Validate and sign one subscription; **no policy decision** is made here.

    Returns what pusher-js expects: ``{"auth"}`` for ``private-``,
    ``{"auth", "channel_data"}`` for ``presence-`` (``user_id`` required; the
    returned ``channel_data`` is exactly the signed string) and
    ``{"auth", "shared_secret"}`` for ``private-encrypted-``.

    Raises RealtimeValidationError for a bad socket id or channel name, a public
    or ``#server-to-user-`` channel, or presence data over the limits, and
    RealtimeConfigurationError when the credentials (or the master key of an
    encrypted channel) are missing.
    """
    socket_id = validate_socket_id(socket_id)
    channel = validate_channel_name(channel_name)
    return sign_subscription(socket_id, channel, user_id, user_info)


def sign_subscription(
    socket_id: str,
    channel: str,
    user_id: Any = None,
    user_info: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """:func:`authenticate_channel` for a socket id and channel name already validated."""
    kind = channel_kind(channel)
    if kind not in SIGNED_KINDS:
        raise RealtimeValidationError(
            f"{channel!r} is a public channel: it needs no signature and cannot be protected.",
            rule="channel_public",
            value=channel,
        )
    key, secret = _credentials()
    result: dict[str, str] = {}
    message = f"{socket_id}:{channel}"
    if kind == "presence":
        if user_id is None:
            raise RealtimeValidationError("Presence channels need a user_id.", rule="user_id_type")
        channel_data = presence_channel_data(user_id, user_info)
        message += f":{channel_data}"
        result["channel_data"] = channel_data
    elif kind == "encrypted":
        result["shared_secret"] = shared_secret(channel)
    result["auth"] = f"{key}:{sign(secret, message)}"
    return result


def authenticate_user(
    socket_id: Any, user_id: Any, user_info: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Sign a pusher-js signin: ``{"auth", "user_data"}`` with ``user_data`` =
    ``{"id": "...", "user_info": {...}}`` (exactly the signed string)."""
    socket_id = validate_socket_id(socket_id)
    user_data = _member_json("id", user_id, user_info)
    key, secret = _credentials()
    return {
        "auth": f"{key}:{sign(secret, f'{socket_id}::user::{user_data}')}",
        "user_data": user_data,
    }
