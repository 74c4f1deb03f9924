"""``SocketIDMiddleware``: read the sender's ``X-Socket-ID`` header.

Add ``"django_toolbox_realtime.middleware.SocketIDMiddleware"`` to ``MIDDLEWARE``.
For the rest of the request, ``trigger_event``, ``trigger_batch`` and the model
bridge exclude that connection, so the browser that made a change does not get
its own echo (the convention of pusher-js users and Laravel Echo, which sends the
header itself). A missing or malformed header excludes nobody: it is logged at
DEBUG and never fails the request.

When the header is valid and the request sent events without that connection,
the response carries their ids, ``X-Realtime-Event-Ids: id1,id2`` (at most
``socket_context.MAX_SENDER_EVENT_IDS``, the first ones): the sender's ``_rt.seq``
has a gap where they were, and a catch-up from the history would replay them to
it; realtime.js reads the header and skips them. No other response gets it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from .delivery.socket_context import SenderEvents, sender_socket
from .exceptions import RealtimeValidationError
from .validation import validate_socket_id

logger = logging.getLogger("django_toolbox_realtime.middleware")

HEADER = "HTTP_X_SOCKET_ID"
#: The response header that lists the events sent without the sender.
EVENT_IDS_HEADER = "X-Realtime-Event-Ids"


def socket_id_of(request: HttpRequest) -> str | None:
    """The request's valid ``X-Socket-ID``, or None (absent or malformed)."""
    value = request.META.get(HEADER)
    if not value:
        return None
    try:
        return validate_socket_id(value)
    except RealtimeValidationError:
        logger.debug("Ignoring a malformed X-Socket-ID header (%d characters).", len(value))
        return None


class SocketIDMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        with sender_socket(socket_id_of(request)) as sender:
            response: HttpResponseBase = self.get_response(request)
        return _with_event_ids(response, sender)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        with sender_socket(socket_id_of(request)) as sender:
            response: HttpResponseBase = await self.get_response(request)
        return _with_event_ids(response, sender)


def _with_event_ids(response: HttpResponseBase, sender: SenderEvents | None) -> HttpResponseBase:
    if sender is not None and sender.ids:
        response[EVENT_IDS_HEADER] = sender.header_value()
    return response
