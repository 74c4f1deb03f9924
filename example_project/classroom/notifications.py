"""``POST /api/v1/notifications`` (admin): a test notification to everyone on
``public-notifications`` (event ``notification``), shown by every dashboard as a toast.

The channel is public, so the text is checked before anything is sent: a message of
1-280 characters, an optional title of at most 80, a level of ``info``, ``success``
or ``warning``. The sender's own page is excluded (``X-Socket-ID``): it shows the
answer instead.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_toolbox_realtime import RealtimeDeliveryError, trigger_event

from .errors import JSONErrorsMixin, refusal
from .parsers import SafeJSONParser, StrictFormParser
from .views import IsAdminRole

CHANNEL = "public-notifications"
EVENT = "notification"
LEVELS = ("info", "success", "warning")
MESSAGE_MAX = 280
TITLE_MAX = 80


def clean_notification(data: Any) -> dict[str, str]:
    """``{"title", "message", "level"}`` from the request data; ValueError with a
    sentence naming the field and its limit."""
    get = data.get if hasattr(data, "get") else (lambda key, default=None: default)
    message, title, level = get("message"), get("title", ""), get("level", "info")
    if not isinstance(message, str) or not message.strip():
        raise ValueError("message is required: a text of 1 to 280 characters.")
    if len(message) > MESSAGE_MAX:
        raise ValueError(f"message is {len(message)} characters; at most {MESSAGE_MAX}.")
    if not isinstance(title, str) or len(title) > TITLE_MAX:
        raise ValueError(f"title must be a text of at most {TITLE_MAX} characters.")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}.")
    return {"title": title.strip(), "message": message.strip(), "level": level}


class IsAdminSender(IsAdminRole):
    message = "Only admins send notifications."


class NotificationView(JSONErrorsMixin, APIView):
    """Validate, then send at once with ``trigger_event``; 503 naming the server when
    it cannot be reached (nothing is queued: a test notification is not worth a retry)."""

    permission_classes = [IsAdminSender]
    parser_classes = [SafeJSONParser, StrictFormParser]

    def post(self, request: Request) -> Response:
        try:
            notice = clean_notification(request.data)
        except ValueError as exc:
            return refusal(400, "bad_request", str(exc))
        user: Any = request.user  # IsAdminRole: authenticated
        notice["by"] = str(user.get_full_name() or user.get_username())
        try:
            result = trigger_event(channel=CHANNEL, event=EVENT, data=notice)
        except RealtimeDeliveryError as exc:
            return refusal(503, "unavailable", f"The realtime server did not take it: {exc}")
        return Response({"sent": bool(result.get("sent")), "id": result["id"], **notice})
