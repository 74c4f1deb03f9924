"""The sender's socket: which connection made the change, so that it does not
receive its own echo, and the ids of the events sent without it.

pusher-js users and Laravel Echo send the browser's socket id in an
``X-Socket-ID`` header; ``middleware.SocketIDMiddleware`` puts it here for the
request, and ``trigger_event`` / ``trigger_batch`` (and the model bridge) pass it
as the server's ``socket_id`` unless the caller gives one. A context variable,
not a thread-local: correct under async views and threads alike.

The events that took the socket from here are recorded (``record_excluded``) and
the middleware answers with their ids (``X-Realtime-Event-Ids``): the sender's
browser skips them when a catch-up replays them from the history, where the seq
gap the exclusion leaves would otherwise bring them back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from ..exceptions import RealtimeValidationError
from .envelope import validate_event_id

#: The most event ids one answer lists (the first ones of the request), and the
#: most characters of the header: 100 ids of the default 32 characters, inside the
#: 4 KB that proxies such as nginx keep for all response headers by default.
MAX_SENDER_EVENT_IDS = 100
MAX_EVENT_IDS_HEADER_LENGTH = 3_300


@dataclass
class SenderEvents:
    """The sender's connection for a block, and the ids of the events sent
    without it (in order, each once, within the bounds above)."""

    socket_id: str
    ids: dict[str, None] = field(default_factory=dict)  # an ordered set
    length: int = 0  # of the header value: the ids and their commas

    def record(self, event_ids: Iterable[str]) -> None:
        for event_id in event_ids:
            if event_id in self.ids or len(self.ids) >= MAX_SENDER_EVENT_IDS:
                continue
            try:  # trigger_event takes any id: only a safe one goes into a header
                validate_event_id(event_id)
            except RealtimeValidationError:
                continue
            added = len(event_id) + (1 if self.ids else 0)
            if self.length + added > MAX_EVENT_IDS_HEADER_LENGTH:
                continue
            self.ids[event_id] = None
            self.length += added

    def header_value(self) -> str:
        return ",".join(self.ids)


_sender: ContextVar[SenderEvents | None] = ContextVar("toolbox_realtime_sender", default=None)


def current_socket_id() -> str | None:
    """The socket id of the connection that sent the current request, if any."""
    sender = _sender.get()
    return sender.socket_id if sender is not None else None


def record_excluded(socket_id: str | None, event_ids: Iterable[str]) -> None:
    """Note ``event_ids`` as sent without the current sender, when ``socket_id``
    (the one they exclude) is the current sender's."""
    sender = _sender.get()
    if sender is not None and socket_id is not None and socket_id == sender.socket_id:
        sender.record(event_ids)


@contextlib.contextmanager
def sender_socket(socket_id: str | None) -> Iterator[SenderEvents | None]:
    """Within the block, events exclude ``socket_id`` (None: exclude nobody).
    Yields what records the ids of the events sent without it (None for None).

    ``socket_id`` must already be valid (``validation.validate_socket_id``)."""
    sender = SenderEvents(socket_id) if socket_id is not None else None
    token = _sender.set(sender)
    try:
        yield sender
    finally:
        _sender.reset(token)


def including_sender() -> contextlib.AbstractContextManager[SenderEvents | None]:
    """Within the block, events reach the sender's own connection too."""
    return sender_socket(None)
