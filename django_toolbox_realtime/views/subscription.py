"""One channel's answer to a signed-in user's subscription request: the steps the
``auth`` endpoint runs once and ``auth/batch`` runs per channel, so both decide,
sign, signal and log in exactly the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from .. import signals
from ..authorization import signing
from ..authorization.policies import Decision, decide
from ..authorization.presence import user_id_for, user_info_for

logger = logging.getLogger("django_toolbox_realtime.auth")

#: The one body of every refusal (no telling a missing object from a forbidden one).
DENIED = {"error": "forbidden", "detail": "You may not subscribe to this channel."}


@dataclass(frozen=True)
class Answer:
    """``status`` 200 with the signed ``body`` (``auth``, ``channel_data``?,
    ``shared_secret``?), 400 for a malformed name, 403 for a refusal."""

    status: int
    body: dict[str, Any]
    decision: Decision


def answer_subscription(
    sender: Any, request: Any, user: Any, socket_id: str, channel_name: Any
) -> Answer:
    """Decide ``channel_name`` for ``user`` (``socket_id`` already validated) and sign
    it when allowed; ``channel_authorized`` / ``channel_denied`` are sent (by
    ``sender``) and the decision logged. Raises what signing raises
    (RealtimeValidationError for presence data over the limits,
    RealtimeConfigurationError when the app cannot sign)."""
    decision = decide(user, channel_name)  # validates the name, once
    if decision.code == "invalid_channel":  # malformed, not refused
        return Answer(400, {"error": "bad_request", "detail": decision.reason}, decision)
    channel = decision.channel
    if not decision.allowed:
        _notify(signals.channel_denied, sender, request, user, socket_id, decision)
        logger.info("Denied user %s on %r: %s", user.pk, channel, decision.reason)
        return Answer(403, DENIED, decision)
    user_id = user_info = None
    if decision.kind == "presence":
        user_id = user_id_for(user)
        user_info = user_info_for(user, decision.user_info)
    body = signing.sign_subscription(socket_id, channel, user_id, user_info)
    _notify(signals.channel_authorized, sender, request, user, socket_id, decision)
    logger.debug("Authorized user %s on %r: %s", user.pk, channel, decision.reason)
    return Answer(200, body, decision)


def _notify(
    signal: Any, sender: Any, request: Any, user: Any, socket_id: str, decision: Decision
) -> None:
    signals.send_logged(
        signal,
        sender,
        logger,
        request=request,
        user=user,
        channel=decision.channel,
        socket_id=socket_id,
        decision=decision,
    )
