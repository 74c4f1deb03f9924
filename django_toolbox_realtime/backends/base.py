"""The backend interface. The API layer validates and splits before calling it,
so a backend receives events that already fit the protocol's limits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutgoingEvent:
    """One event, validated: ``data`` is the encoded JSON string."""

    id: str
    name: str
    channels: tuple[str, ...]
    data: str
    socket_id: str | None = None


class BaseBackend:
    """Subclass and implement :meth:`trigger` and :meth:`trigger_batch`.

    Raise :class:`~django_toolbox_realtime.exceptions.RealtimeDeliveryError`
    when the server does not accept the events.
    """

    #: Whether events leave the process (health and logs use it).
    delivers_to_server = False

    def trigger(self, event: OutgoingEvent) -> None:
        """Send one event to at most 100 channels."""
        raise NotImplementedError

    def trigger_batch(self, events: list[OutgoingEvent]) -> None:
        """Send at most 10 single-channel events in one request."""
        raise NotImplementedError
