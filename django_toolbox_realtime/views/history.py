"""``GET history?channel=NAME&after=SEQ[&limit=N]``: a channel's delivered events
after ``after``, for a client catching up (see docs/delivery.md#history).

Exactly the access rule of subscribing: public channels are open to anyone (no
login); private, presence and encrypted channels authenticate with the auth
endpoints' classes and ask the policy engine (``decide``), and a refusal is the
auth endpoint's very 403 body; ``#server-to-user-<id>`` is the signed-in user's own
channel only. The query string is checked before anything is read: a bad one is a
400, never a 5xx. GET and HEAD only; never cached.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import SuspiciousOperation
from rest_framework import exceptions as drf_exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from ..authorization.policies import decide
from ..authorization.presence import user_id_for
from ..delivery import history
from ..validation import (
    SERVER_TO_USER_PREFIX,
    channel_kind,
    validate_channel_name,
    validate_trigger_channel,
)
from .auth import DENIED, _error, _PusherAuthView

logger = logging.getLogger("django_toolbox_realtime.auth")


def _one(query: Any, name: str, required: bool = False) -> str | None:
    """The query parameter ``name``, given at most once (exactly once if required)."""
    values = query.getlist(name)
    if len(values) > 1:
        raise drf_exceptions.ParseError(f"Parameter {name!r} is given {len(values)} times.")
    if not values:
        if required:
            raise drf_exceptions.ParseError(f"Missing parameter {name!r}.")
        return None
    return str(values[0])


class HistoryView(_PusherAuthView):
    """The history endpoint: ``{"channel", "events", "next_after", "truncated",
    "oldest_seq"}``, events in seq order (see ``delivery.history.Page``)."""

    http_method_names = ["get", "head"]

    def perform_authentication(self, request: Request) -> None:
        # Lazy: a public channel never runs the authentication classes (a stale
        # token does not lock anyone out of what needs no login).
        pass

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, drf_exceptions.MethodNotAllowed):
            return _error(405, "method_not_allowed", "Use GET.")
        return super().handle_exception(exc)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            query = request._request.GET
        except SuspiciousOperation:  # more parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS
            return _error(400, "bad_request", "Too many query parameters.")
        channel = _one(query, "channel", required=True) or ""
        kind = channel_kind(channel)
        if kind == "user":
            validate_trigger_channel(channel)
        else:
            validate_channel_name(channel)
        after = history.parse_after(_one(query, "after"))
        limit = history.parse_limit(_one(query, "limit"))
        if kind != "public" and not self._may_read(request, channel, kind):
            return Response(DENIED, status=403)
        return Response(history.read(channel, after, limit).as_dict())

    def _may_read(self, request: Request, channel: str, kind: str) -> bool:
        """Whether the signed-in user may subscribe to ``channel`` (anonymous: the
        auth endpoint's NotAuthenticated 403, raised)."""
        user = self.authenticated_user(request)
        if kind == "user":
            allowed = channel[len(SERVER_TO_USER_PREFIX) :] == user_id_for(user)
            reason = "" if allowed else "another user's channel"
        else:
            decision = decide(user, channel)
            allowed, reason = decision.allowed, decision.reason
        if not allowed:
            logger.info("Denied history of %r to user %s: %s", channel, user.pk, reason)
        return allowed
