"""The ``_rt`` envelope: the event's id and its channel's sequence number, inside
the payload, so a client can drop repeats (same id) and see gaps (a missing seq).

A JSON-object payload is sent as ``{"_rt": {"id": "<id>", "seq": <n>}, ...}``: the
key is spliced into the encoded string (nothing is decoded or re-encoded). Any
other payload (a list, a string, a number) is sent as it is, without the envelope.
A payload that already has a top-level ``"_rt"`` key is refused at publish, and
the 10,240-byte limit is checked with room for the envelope (and, on encrypted
channels, for the encryption).
"""

from __future__ import annotations

import json
import math
import re

from ..exceptions import RealtimeValidationError
from ..validation import ENCRYPTED_PREFIX, MAX_PAYLOAD_BYTES, check_payload_size

#: The reserved top-level key of every JSON-object payload.
KEY = "_rt"
#: Event ids: what a client can compare safely, spliced into JSON without escaping.
MAX_EVENT_ID_LENGTH = 64
_EVENT_ID_RE = re.compile(r"\A[A-Za-z0-9_.:-]{1,64}\Z")
#: Digits of the largest sequence number (a 64-bit counter).
_SEQ_DIGITS = 19
_WHITESPACE = " \t\r\n"


def validate_event_id(event_id: object) -> str:
    if not isinstance(event_id, str) or not _EVENT_ID_RE.match(event_id):
        raise RealtimeValidationError(
            f"Event id must be 1-{MAX_EVENT_ID_LENGTH} characters of A-Z a-z 0-9 _ . : -.",
            rule="event_id",
        )
    return event_id


def is_object(data: str) -> bool:
    """Whether ``data`` (valid JSON) is an object, the only kind that gets the envelope."""
    return data.lstrip(_WHITESPACE)[:1] == "{"


def _has_reserved_key(data: str) -> bool:
    if f'"{KEY}"' not in data:  # the fast path: the key cannot be there at all
        return False
    try:
        decoded = json.loads(data)
    except ValueError:
        return True  # cannot tell: refuse rather than send a payload with two "_rt"
    return isinstance(decoded, dict) and KEY in decoded


def envelope_bytes(event_id: str) -> int:
    """The most bytes the envelope adds to an object payload with this id."""
    return len(_prefix(event_id, 10**_SEQ_DIGITS - 1)) + 1  # + the comma


def _prefix(event_id: str, seq: int) -> str:
    return f'{{"{KEY}":{{"id":"{event_id}","seq":{seq}}}'


def encrypted_bytes(size: int) -> int:
    """Bytes of the encrypted form of ``size`` bytes as the backend sends it:
    ``{"nonce": "<24 bytes, base64>", "ciphertext": "<size + 16 bytes, base64>"}``."""
    return 63 + 4 * math.ceil((size + 16) / 3)


def check(data: str, event_id: str, channels: tuple[str, ...]) -> None:
    """RealtimeValidationError when ``data`` breaks an envelope rule or, with the
    envelope (and encryption), would be over the payload limit."""
    room = 0
    if is_object(data):
        if _has_reserved_key(data):
            raise RealtimeValidationError(
                f'Event data has a top-level "{KEY}" key, which is reserved for the event '
                "id and sequence number (see docs/delivery.md). Rename it.",
                rule="payload_reserved_key",
                value=KEY,
            )
        room = envelope_bytes(event_id)
    encrypted = any(channel.startswith(ENCRYPTED_PREFIX) for channel in channels)
    # On an encrypted channel: the largest plaintext whose encrypted form fits.
    limit = 3 * ((MAX_PAYLOAD_BYTES - 63) // 4) - 16 if encrypted else MAX_PAYLOAD_BYTES
    if not room and not encrypted:
        check_payload_size(data)
        return
    room_for = [f"the {room}-byte {KEY!r} envelope"] if room else []
    room_for += ["the encryption"] if encrypted else []
    check_payload_size(
        data, limit=limit - room, what=f"Event data (with room for {' and '.join(room_for)})"
    )


def wrap(data: str, event_id: str, seq: int) -> str:
    """``data`` with the envelope spliced in (unchanged if it is not an object)."""
    stripped = data.lstrip(_WHITESPACE)
    if stripped[:1] != "{":
        return data
    rest = stripped[1:]
    prefix = _prefix(event_id, seq)
    if rest.lstrip(_WHITESPACE)[:1] == "}":
        return prefix + rest.lstrip(_WHITESPACE)
    return prefix + "," + rest
