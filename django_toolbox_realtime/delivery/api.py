"""The delivery API: validate, split to the protocol's limits, hand to the backend.

Everything is validated before the first network call, so a bad event in a
batch sends nothing at all.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from asgiref.sync import sync_to_async

from ..backends import OutgoingEvent, get_backend
from ..conf import SETTINGS_NAME, realtime_settings
from ..exceptions import RealtimeConfigurationError, RealtimeDeliveryError, RealtimeValidationError
from ..validation import (
    ENCRYPTED_PREFIX,
    MAX_CHANNELS_PER_TRIGGER,
    MAX_EVENTS_PER_BATCH,
    SERVER_TO_USER_PREFIX,
    chunked,
    encode_payload,
    validate_event_name,
    validate_socket_id,
    validate_trigger_channel,
    validate_user_id,
)
from . import usage
from .socket_context import current_socket_id, including_sender, record_excluded

logger = logging.getLogger("django_toolbox_realtime.delivery")


def new_event_id() -> str:
    return uuid.uuid4().hex


def _channel_list(channel: str | Iterable[str] | None) -> list[str]:
    channels = [channel] if isinstance(channel, str) else list(channel or ())
    if not channels:
        raise RealtimeValidationError("No channel given.", rule="channel_empty")
    for name in channels:
        validate_trigger_channel(name)
    if len(set(channels)) != len(channels):
        raise RealtimeValidationError("The same channel is listed twice.", rule="channel_duplicate")
    encrypted = [c for c in channels if c.startswith(ENCRYPTED_PREFIX)]
    if encrypted and len(channels) > 1:
        raise RealtimeValidationError(
            f"Encrypted channel {encrypted[0]!r} must be published on its own "
            f"(got {len(channels)} channels).",
            rule="encrypted_multi_channel",
            value=len(channels),
            limit=1,
        )
    return channels


def _disabled(what: str) -> bool:
    if realtime_settings.ENABLED:
        return False
    logger.info("%s['ENABLED'] is False: %s not sent.", SETTINGS_NAME, what)
    return True


def _deliver(send: Any, what: str, fail_silently: bool) -> str | None:
    """Run ``send()``; return an error message when it failed silently."""
    try:
        send()
    except (RealtimeDeliveryError, RealtimeConfigurationError) as exc:
        if not fail_silently:
            raise
        logger.warning("%s not delivered (fail_silently): %s", what, exc)
        return str(exc)
    return None


def trigger_event(
    channel: str | Iterable[str] | None = None,
    event: str | None = None,
    data: Any = None,
    *,
    channels: Iterable[str] | None = None,
    socket_id: str | None = None,
    event_id: str | None = None,
    fail_silently: bool = False,
) -> dict[str, Any]:
    """Publish ``event`` with ``data`` on one channel or many.

    More than 100 channels are split into several requests. ``socket_id``
    excludes that connection (the sender); by default, the connection of the
    current request's ``X-Socket-ID`` header (see ``middleware.SocketIDMiddleware``). Returns
    ``{"channel", "channels", "event", "id", "sent", "requests"}``.

    Raises :class:`RealtimeValidationError` before any network call when a
    name or the payload breaks a rule, and :class:`RealtimeDeliveryError` when
    the server refuses or cannot be reached (unless ``fail_silently``).
    """
    names = _channel_list(channels if channels is not None else channel)
    event_name = validate_event_name(event)
    if socket_id is None:
        socket_id = current_socket_id()
    else:
        validate_socket_id(socket_id)
    encoded = encode_payload(data)
    event_id = event_id or new_event_id()
    record_excluded(socket_id, [event_id])  # for the sender's X-Realtime-Event-Ids
    parts = [
        OutgoingEvent(
            id=event_id, name=event_name, channels=tuple(chunk), data=encoded, socket_id=socket_id
        )
        for chunk in chunked(names, MAX_CHANNELS_PER_TRIGGER)
    ]
    result: dict[str, Any] = {
        "channel": names[0] if len(names) == 1 else None,
        "channels": names,
        "event": event_name,
        "id": event_id,
        "sent": False,
        "requests": 0,
    }
    what = f"event {event_name!r} ({event_id}) on {len(names)} channel(s)"
    if _disabled(what):
        return result
    backend = get_backend()

    def send() -> None:
        for part in parts:
            backend.trigger(part)
            result["requests"] += 1
            usage.record_messages(len(part.channels))

    error = _deliver(send, what, fail_silently)
    result["sent"] = error is None
    if error:
        result["error"] = error
    return result


def _batch_item(item: Mapping[str, Any]) -> OutgoingEvent:
    if not isinstance(item, Mapping):
        raise RealtimeValidationError("Each batch item must be a dict.", rule="batch_item")
    name = item.get("event", item.get("name"))
    channel = item.get("channel")
    if not isinstance(channel, str):
        raise RealtimeValidationError(
            "Each batch item needs one 'channel' (a string).", rule="batch_channel"
        )
    socket_id = item.get("socket_id")
    if socket_id is None:
        socket_id = current_socket_id()
    else:
        validate_socket_id(socket_id)
    return OutgoingEvent(
        id=item.get("id") or new_event_id(),
        name=validate_event_name(name),
        channels=(validate_trigger_channel(channel),),
        data=encode_payload(item.get("data")),
        socket_id=socket_id,
    )


def trigger_batch(
    events: Iterable[Mapping[str, Any]], *, fail_silently: bool = False
) -> dict[str, Any]:
    """Publish several events, each ``{"channel", "event" (or "name"), "data", "socket_id"?}``.

    Sent in order, at most 10 per request. An item without ``socket_id`` excludes
    the current request's sender (``X-Socket-ID``), as ``trigger_event`` does. Returns
    ``{"events": [{"channel", "event", "id"}, ...], "sent", "requests"}``.
    """
    outgoing = [_batch_item(item) for item in events]
    for item in outgoing:
        record_excluded(item.socket_id, [item.id])  # for the sender's X-Realtime-Event-Ids
    result: dict[str, Any] = {
        "events": [{"channel": e.channels[0], "event": e.name, "id": e.id} for e in outgoing],
        "sent": False,
        "requests": 0,
    }
    what = f"batch of {len(outgoing)} event(s)"
    if not outgoing or _disabled(what):
        result["sent"] = not outgoing
        return result
    backend = get_backend()

    def send() -> None:
        for chunk in chunked(outgoing, MAX_EVENTS_PER_BATCH):
            backend.trigger_batch(chunk)
            result["requests"] += 1
            usage.record_messages(len(chunk))

    error = _deliver(send, what, fail_silently)
    result["sent"] = error is None
    if error:
        result["error"] = error
    return result


def user_channel(user_id: Any) -> str:
    """The server-to-user channel of ``user_id`` (what signin subscribes to)."""
    return SERVER_TO_USER_PREFIX + validate_user_id(user_id)


def send_to_user(
    user_id: Any, event: str, data: Any = None, *, fail_silently: bool = False
) -> dict[str, Any]:
    """Send ``event`` to every connection of a signed-in user (pusher-js ``signin``).

    Meant for that user, so it reaches the connection that made the request too
    (no sender exclusion)."""
    with including_sender():
        result = trigger_event(user_channel(user_id), event, data, fail_silently=fail_silently)
    result["user_id"] = str(user_id)
    return result


atrigger_event = sync_to_async(trigger_event)
atrigger_batch = sync_to_async(trigger_batch)
asend_to_user = sync_to_async(send_to_user)
