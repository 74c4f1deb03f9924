"""The sender's socket: which connection made the change, so that it does not
receive its own echo.

pusher-js users and Laravel Echo send the browser's socket id in an
``X-Socket-ID`` header; ``middleware.SocketIDMiddleware`` puts it here for the
request, and ``trigger_event`` / ``trigger_batch`` (and the model bridge) pass it
as the server's ``socket_id`` unless the caller gives one. A context variable,
not a thread-local: correct under async views and threads alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

_socket_id: ContextVar[str | None] = ContextVar("toolbox_realtime_socket_id", default=None)


def current_socket_id() -> str | None:
    """The socket id of the connection that sent the current request, if any."""
    return _socket_id.get()


@contextlib.contextmanager
def sender_socket(socket_id: str | None) -> Iterator[None]:
    """Within the block, events exclude ``socket_id`` (None: exclude nobody).

    ``socket_id`` must already be valid (``validation.validate_socket_id``)."""
    token = _socket_id.set(socket_id)
    try:
        yield
    finally:
        _socket_id.reset(token)


def including_sender() -> contextlib.AbstractContextManager[None]:
    """Within the block, events reach the sender's own connection too."""
    return sender_socket(None)
