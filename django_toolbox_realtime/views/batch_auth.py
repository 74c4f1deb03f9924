"""``POST auth/batch``: the authorizations of several channels in one request.

JSON ``{"socket_id": "1.2", "channels": ["private-a", "presence-b"]}`` or the form
``socket_id=1.2&channel_name=a&channel_name=b`` (``channel_name[]`` and
``channel_name[0]`` too). The request as a whole is refused when the login, the
CSRF token, the socket id or the list is wrong: more than ``AUTH_BATCH_MAX``
channels, a repeated or non-string name, none at all (400), anonymous (403), no
usable secret (503). Otherwise each channel is answered on its own, by the very
steps of the single ``auth`` endpoint (``subscription.answer_subscription``)::

    {"channels": {"private-a": {"auth": "key:sig"},
                  "presence-b": {"auth": "...", "channel_data": "..."},
                  "private-x": {"status": 403, "error": "Forbidden"}}}

A malformed name is ``{"status": 400, "error": "Bad Request", "detail": ...}``, a
channel the app cannot sign (an encrypted one without the master key)
``{"status": 503, ...}``; never a signature for a refused channel.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import exceptions as drf_exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from ..authorization import parsers
from ..authorization.browser_options import batch_max
from ..conf import SETTINGS_NAME
from ..credentials import credentials_problem
from ..exceptions import RealtimeConfigurationError, RealtimeValidationError
from ..validation import validate_socket_id
from .auth import _PusherAuthView, string_fields
from .subscription import answer_subscription

logger = logging.getLogger("django_toolbox_realtime.auth")

FORBIDDEN = {"status": 403, "error": "Forbidden"}
#: The list field: ``channels`` in JSON, ``channel_name`` (repeated) in a form.
JSON_FIELD, FORM_FIELD = "channels", "channel_name"


class BatchChannelAuthView(_PusherAuthView):
    """Several pusher-js ``channelAuthorization`` answers for one socket."""

    parser_classes = [parsers.StrictJSONParser, parsers.ChannelListFormParser]

    def parse_form(self, raw: bytes) -> Any:
        return parsers.parse_list_form(raw, FORM_FIELD)

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.authenticated_user(request)
        data = self.body(request)
        socket_id = validate_socket_id(string_fields(data, ("socket_id",))["socket_id"])
        channels = self._channel_names(request, data)
        problem = credentials_problem()  # every channel would fail alike: say it once
        if problem:
            raise RealtimeConfigurationError(f"Cannot sign: {problem}")
        answers = {name: self._answer(request, user, socket_id, name) for name in channels}
        return Response({"channels": answers})

    def _channel_names(self, request: Request, data: Any) -> list[str]:
        """The requested names: a non-empty list of distinct strings within the limit."""
        media_type = request.content_type.partition(";")[0].strip().lower()
        field = JSON_FIELD if media_type == "application/json" else FORM_FIELD
        names = data.get(field)
        if names is None:
            raise drf_exceptions.ParseError(f"Missing field {field!r} (a list of channel names).")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise drf_exceptions.ParseError(f"Field {field!r} must be a list of channel names.")
        if not names:
            raise drf_exceptions.ParseError(f"Field {field!r} names no channel.")
        limit = batch_max()
        if len(names) > limit:
            raise drf_exceptions.ParseError(
                f"{len(names)} channels in one request: at most {limit} "
                f"({SETTINGS_NAME}['AUTH_BATCH_MAX']); split the batch."
            )
        if len(set(names)) != len(names):
            repeated = next(n for i, n in enumerate(names) if n in names[:i])
            raise drf_exceptions.ParseError(f"Channel {repeated[:40]!r} appears twice.")
        return names

    def _answer(self, request: Request, user: Any, socket_id: str, name: str) -> dict[str, Any]:
        try:
            answer = answer_subscription(type(self), request, user, socket_id, name)
        except RealtimeValidationError as exc:  # presence data over the limits
            return {"status": 400, "error": "Bad Request", "detail": str(exc)}
        except RealtimeConfigurationError as exc:  # e.g. no encryption master key
            logger.error("Realtime auth unavailable for %r: %s", name, exc)
            return {"status": 503, "error": "Service Unavailable", "detail": str(exc)}
        if answer.status == 200:
            return answer.body
        if answer.status == 400:
            return {"status": 400, "error": "Bad Request", "detail": answer.body["detail"]}
        return dict(FORBIDDEN)
