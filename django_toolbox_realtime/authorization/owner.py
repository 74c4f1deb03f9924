"""Owner-bound channels: the reserved placeholder ``{user}``.

A policy (or a code authorizer) on ``private-user-{user}`` names one channel per
user, and only that user may subscribe to it. The value in the channel name must
be the requesting user's protocol id exactly as the auth and signin endpoints
compute it (:func:`.presence.user_id_for`: ``str(user.pk)``). It is compared as a
string, so no alias of the id is accepted: ``07``, ``+7``, `` 7``, ``7.0`` or the
username never equal ``7``.

Ids that contain ``-`` or ``.`` (UUID primary keys, for example) cannot appear in
a placeholder at all, so such users have no ``{user}`` channel: use
``send_to_user`` for them.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import RealtimeValidationError
from .patterns import USER_PLACEHOLDER
from .presence import user_id_for

__all__ = ["not_owner_reason", "without_user"]


def not_owner_reason(user: Any, params: dict[str, str], rule: object) -> str | None:
    """Why ``user`` is not the owner the ``{user}`` value in ``params`` names, or None
    when it is (or there is no ``{user}`` placeholder). ``rule`` is named in the reason."""
    value = params.get(USER_PLACEHOLDER)
    if value is None:
        return None
    try:
        own = user_id_for(user)
    except RealtimeValidationError:  # an id the protocol cannot carry: owns nothing
        return f"user={value}: your id cannot be a channel user id; {rule} binds {{user}}."
    if value == own:
        return None
    return (
        f"user={value} is not you (you are user {own}): {rule} lets each user "
        "subscribe to their own channel only ({user} must be exactly their id)."
    )


def without_user(params: dict[str, str]) -> dict[str, str]:
    """``params`` without the bound ``{user}`` value, for an authorizer's keyword
    arguments (the function already receives the user itself)."""
    return {name: value for name, value in params.items() if name != USER_PLACEHOLDER}
