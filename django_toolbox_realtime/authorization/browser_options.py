"""The browser-facing settings, read and checked in one place: ``CLIENT`` (the
address pusher-js connects to) and ``AUTH_BATCH_MAX`` (channels per batch
authorization request). The runtime refuses exactly what the system checks
(``toolbox_realtime.E050``, ``E051``) report, with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..conf import SETTINGS_NAME, realtime_settings
from ..exceptions import RealtimeConfigurationError
from ..validation import is_int

#: The keys ``CLIENT`` may hold; each defaults to the server-side setting named.
CLIENT_KEYS = {"WS_HOST": "HOST", "WS_PORT": "PORT", "FORCE_TLS": "SSL"}
#: The largest AUTH_BATCH_MAX accepted: a batch signs every channel in one request.
BATCH_MAX_LIMIT = 1_000


@dataclass(frozen=True)
class BrowserAddress:
    """Where pusher-js connects: a self-hosted host and port, or neither (hosted)."""

    ws_host: str | None
    ws_port: int | None
    force_tls: bool


def _name(key: str, sub: str | None = None) -> str:
    return f"{SETTINGS_NAME}['{key}']" + (f"['{sub}']" if sub else "")


def _client_dict() -> dict[str, Any]:
    client = realtime_settings.raw("CLIENT")
    if client is None:
        return {}
    if not isinstance(client, dict):
        raise RealtimeConfigurationError(
            f"{_name('CLIENT')} must be a dict with some of {sorted(CLIENT_KEYS)}."
        )
    unknown = sorted(str(k) for k in client if k not in CLIENT_KEYS)
    if unknown:
        raise RealtimeConfigurationError(
            f"{_name('CLIENT')} has unknown keys {unknown}: use {sorted(CLIENT_KEYS)}."
        )
    return client


def _port(value: Any, named: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not is_int(value) or not 0 < value < 65_536:
        raise RealtimeConfigurationError(f"{named} must be a port number (1-65535).")
    return int(value)


def browser_address() -> BrowserAddress:
    """The address of the tag's configuration (``CLIENT`` over HOST/PORT/SSL).

    Raises RealtimeConfigurationError naming the setting when it cannot be used."""
    client = _client_dict()
    host = client.get("WS_HOST", realtime_settings.raw("HOST"))
    if "WS_HOST" in client and (not isinstance(host, str) or not host.strip()):
        raise RealtimeConfigurationError(f"{_name('CLIENT', 'WS_HOST')} must be a host name.")
    if "WS_PORT" in client:
        port = _port(client["WS_PORT"], _name("CLIENT", "WS_PORT"))
    else:
        port = _port(realtime_settings.raw("PORT"), _name("PORT"))
    tls = client.get("FORCE_TLS", realtime_settings.raw("SSL"))
    if not isinstance(tls, bool):
        raise RealtimeConfigurationError(f"{_name('CLIENT', 'FORCE_TLS')} must be True or False.")
    if not host:
        return BrowserAddress(None, None, tls)  # hosted Pusher: the cluster says where
    return BrowserAddress(str(host), port, tls)


def batch_max() -> int:
    """``AUTH_BATCH_MAX``: the most channels one batch authorization request may name."""
    value = realtime_settings.raw("AUTH_BATCH_MAX")
    if not is_int(value) or not 1 <= value <= BATCH_MAX_LIMIT:
        raise RealtimeConfigurationError(
            f"{_name('AUTH_BATCH_MAX')} must be a whole number from 1 to {BATCH_MAX_LIMIT} "
            f"(got {value!r})."
        )
    return int(value)


def problems() -> list[tuple[int, str]]:
    """``(check number, message)`` of each setting the runtime would refuse.
    Raises RealtimeConfigurationError when the settings cannot be read at all."""
    realtime_settings.user_settings  # noqa: B018  (a malformed URL raises here, not below)
    found: list[tuple[int, str]] = []
    for number, reader in ((50, browser_address), (51, batch_max)):
        try:
            reader()
        except RealtimeConfigurationError as exc:
            found.append((number, str(exc)))
    return found
