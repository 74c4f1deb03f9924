"""The protocol's rules, checked before any network call.

Where the ``pusher`` library and hosted Pusher disagree, the stricter rule of
hosted Pusher is enforced (see PROTOCOL.md): 164-character channel names,
payloads measured as UTF-8 bytes, at most 10 events per batch.
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

from django.core.serializers.json import DjangoJSONEncoder

from .exceptions import RealtimeValidationError

MAX_CHANNEL_NAME_LENGTH = 164
MAX_EVENT_NAME_LENGTH = 200
MAX_PAYLOAD_BYTES = 10_240
MAX_CHANNELS_PER_TRIGGER = 100
MAX_EVENTS_PER_BATCH = 10
MAX_USER_ID_LENGTH = 128
MAX_PRESENCE_USER_INFO_BYTES = 1_024
#: Digits in each part of a socket id (``<digits>.<digits>``): what Pusher and
#: soketi issue fits in 20 (a 64-bit number); longer ids are never signed.
MAX_SOCKET_ID_PART_DIGITS = 20

PRIVATE_PREFIX = "private-"
ENCRYPTED_PREFIX = "private-encrypted-"
PRESENCE_PREFIX = "presence-"
SERVER_TO_USER_PREFIX = "#server-to-user-"
#: Channel kinds (see channel_kind) whose subscriptions are signed; the others
#: ("public", "user") are never signed and cannot be access-controlled.
SIGNED_KINDS = frozenset({"private", "encrypted", "presence"})

# ASCII only: Python's \d and \w also match non-ASCII digits and letters.
_CHANNEL_RE = re.compile(r"\A[A-Za-z0-9_\-=@,.;]+\Z")
_SOCKET_ID_RE = re.compile(
    rf"\A[0-9]{{1,{MAX_SOCKET_ID_PART_DIGITS}}}\.[0-9]{{1,{MAX_SOCKET_ID_PART_DIGITS}}}\Z"
)
_RESERVED_EVENT_PREFIXES = ("pusher:", "pusher_internal:")
# One encoder for every event (building one per call costs more than small payloads).
_ENCODER = DjangoJSONEncoder(ensure_ascii=False, separators=(",", ":"))


def is_int(value: Any) -> TypeGuard[int]:
    """An ``int`` that is not a ``bool`` (JSON ``true`` must not pass for 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> TypeGuard[int | float]:
    """An ``int`` or ``float`` that is not a ``bool``."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fail(message: str, rule: str, value: Any = None, limit: Any = None) -> None:
    raise RealtimeValidationError(message, rule=rule, value=value, limit=limit)


def _preview(value: str, size: int = 40) -> str:
    return value if len(value) <= size else value[:size] + "..."


def channel_kind(channel: str) -> str:
    """``"encrypted"``, ``"private"``, ``"presence"``, ``"user"`` or ``"public"``."""
    if channel.startswith(ENCRYPTED_PREFIX):
        return "encrypted"
    if channel.startswith(PRIVATE_PREFIX):
        return "private"
    if channel.startswith(PRESENCE_PREFIX):
        return "presence"
    if channel.startswith(SERVER_TO_USER_PREFIX):
        return "user"
    return "public"


def validate_channel_name(channel: Any) -> str:
    """Return ``channel`` if it is a valid channel name that clients may subscribe to."""
    if not isinstance(channel, str):
        _fail(f"Channel name must be a string, got {type(channel).__name__}.", "channel_type")
    if not channel:
        _fail("Channel name is empty.", "channel_empty")
    if len(channel) > MAX_CHANNEL_NAME_LENGTH:
        _fail(
            f"Channel name is {len(channel)} characters; the limit is "
            f"{MAX_CHANNEL_NAME_LENGTH}: {_preview(channel)!r}",
            "channel_length",
            len(channel),
            MAX_CHANNEL_NAME_LENGTH,
        )
    if not _CHANNEL_RE.match(channel):
        _fail(
            f"Channel name {_preview(channel)!r} has a character outside "
            "A-Z a-z 0-9 _ - = @ , . ; ('#' is reserved).",
            "channel_characters",
            channel,
        )
    return channel


def validate_trigger_channel(channel: Any) -> str:
    """Like :func:`validate_channel_name`, also allowing ``#server-to-user-<id>``."""
    if isinstance(channel, str) and channel.startswith(SERVER_TO_USER_PREFIX):
        validate_user_id(channel[len(SERVER_TO_USER_PREFIX) :])
        return channel
    return validate_channel_name(channel)


def validate_user_id(user_id: Any) -> str:
    """A user id as the protocol allows it (presence ``user_id``, signin ``id``)."""
    if is_int(user_id):
        user_id = str(user_id)
    if not isinstance(user_id, str) or not user_id:
        _fail("User id must be a non-empty string.", "user_id_type")
    if len(user_id) > MAX_USER_ID_LENGTH:
        _fail(
            f"User id is {len(user_id)} characters; the limit is {MAX_USER_ID_LENGTH}.",
            "user_id_length",
            len(user_id),
            MAX_USER_ID_LENGTH,
        )
    if not _CHANNEL_RE.match(user_id):
        _fail(
            f"User id {_preview(user_id)!r} has a character outside A-Z a-z 0-9 _ - = @ , . ;",
            "user_id_characters",
            user_id,
        )
    return user_id


def validate_event_name(event: Any) -> str:
    if not isinstance(event, str) or not event:
        _fail("Event name must be a non-empty string.", "event_type")
    if len(event) > MAX_EVENT_NAME_LENGTH:
        _fail(
            f"Event name is {len(event)} characters; the limit is {MAX_EVENT_NAME_LENGTH}.",
            "event_length",
            len(event),
            MAX_EVENT_NAME_LENGTH,
        )
    if event.startswith(_RESERVED_EVENT_PREFIXES):
        _fail(
            f"Event name {event!r} uses a prefix reserved by the protocol.", "event_reserved", event
        )
    return event


def validate_socket_id(socket_id: Any) -> str:
    """``socket_id`` if it is ``<digits>.<digits>`` (ASCII), each part of 1 to
    ``MAX_SOCKET_ID_PART_DIGITS`` digits."""
    if not isinstance(socket_id, str) or not _SOCKET_ID_RE.match(socket_id):
        shown = _preview(socket_id) if isinstance(socket_id, str) else type(socket_id).__name__
        _fail(
            f"Invalid socket id {shown!r}: expected digits.digits, each part at most "
            f"{MAX_SOCKET_ID_PART_DIGITS} digits.",
            "socket_id",
            shown,
            MAX_SOCKET_ID_PART_DIGITS,
        )
    return socket_id


def to_json(value: Any) -> str:
    """Compact JSON (DjangoJSONEncoder: datetimes, Decimal, UUID), exactly as sent and
    signed. Raises TypeError/ValueError for values JSON cannot hold."""
    return _ENCODER.encode(value)


def encode_json_payload(data: Any, what: str = "Event data") -> str:
    """``data`` as the JSON string clients receive, not yet measured: a ``str`` as it
    is (it must already be what clients expect), anything else encoded with
    :class:`DjangoJSONEncoder` (datetimes, Decimal, UUID). RealtimeValidationError
    (``payload_json``, naming ``what``) for a value JSON cannot hold."""
    if isinstance(data, str):
        return data
    try:
        return to_json(data)
    except (TypeError, ValueError) as exc:
        raise RealtimeValidationError(
            f"{what} cannot be encoded as JSON: {exc}", rule="payload_json"
        ) from exc


def encode_payload(data: Any) -> str:
    """Encode ``data`` as the JSON string sent to the server, within the size limit
    (see :func:`encode_json_payload`)."""
    encoded = encode_json_payload(data)
    check_payload_size(encoded)
    return encoded


def check_payload_size(
    encoded: str,
    *,
    what: str = "Event data",
    limit: int = MAX_PAYLOAD_BYTES,
    rule: str = "payload_size",
    advice: str = "Send an id and let clients fetch the rest.",
) -> None:
    """RealtimeValidationError when ``encoded`` is over ``limit`` UTF-8 bytes."""
    if len(encoded) * 4 <= limit:
        return  # a code point is at most 4 UTF-8 bytes: certainly within the limit
    size = len(encoded.encode("utf-8"))
    if size > limit:
        _fail(
            f"{what} is {size:,} bytes of UTF-8 JSON; the limit is {limit:,} bytes. {advice}",
            rule,
            size,
            limit,
        )


def chunked(items: list[Any], size: int) -> list[list[Any]]:
    """Split ``items`` into lists of at most ``size`` elements, keeping order."""
    return [items[i : i + size] for i in range(0, len(items), size)]
