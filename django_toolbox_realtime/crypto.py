"""The protocol's cryptography: one HMAC signature, the encryption master key and
the per-channel shared secrets of ``private-encrypted-`` channels.

Core: imports only ``conf`` and ``exceptions``. Secrets never appear in a message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

from .conf import SETTINGS_NAME, realtime_settings
from .exceptions import RealtimeConfigurationError

MASTER_KEY_SETTING = f"{SETTINGS_NAME}['ENCRYPTION_MASTER_KEY_BASE64']"


def sign(secret: str, message: str | bytes) -> str:
    """Hex HMAC-SHA256 of ``message`` (text as UTF-8, or raw bytes) with ``secret``:
    the protocol's one signature, for subscriptions, signin and webhook bodies."""
    raw = message.encode("utf-8") if isinstance(message, str) else message
    return hmac.digest(secret.encode("utf-8"), raw, "sha256").hex()


def decode_master_key(value: Any) -> bytes | None:
    """The 32 bytes of ``ENCRYPTION_MASTER_KEY_BASE64``, or None when it is not 32 bytes
    of valid base64."""
    try:
        key = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == 32 else None


def master_key() -> bytes:
    """The 32-byte encryption master key; RealtimeConfigurationError when unusable."""
    value = realtime_settings.ENCRYPTION_MASTER_KEY_BASE64
    if not value:
        raise RealtimeConfigurationError(
            f"private-encrypted- channels need {MASTER_KEY_SETTING} (32 random bytes, "
            "base64); it is not set."
        )
    key = decode_master_key(value)
    if key is None:
        raise RealtimeConfigurationError(f"{MASTER_KEY_SETTING} must be 32 bytes, base64-encoded.")
    return key


def shared_secret(channel: str) -> str:
    """base64(SHA256(channel + master key)): the per-channel key of an encrypted channel."""
    digest = hashlib.sha256(channel.encode("utf-8") + master_key()).digest()
    return base64.b64encode(digest).decode("ascii")
