"""Proves the app KEY: one WebSocket connection to the server, as a browser makes it.

The server's HTTP API cannot prove the key: soketi identifies the app by id and
ignores the key, so a wrong ``KEY`` passes every signed request while every
browser gets "App key ... does not exist". This opens ``/app/<KEY>`` (protocol 7)
on the server pusher-js would use (``HOST``/``PORT``, or ``ws-<CLUSTER>.pusher.com``;
TLS when ``SSL``), reads the first message and reports
``pusher:connection_established`` or the ``pusher:error`` code, within a short
timeout. A small stdlib client: no new dependency.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import struct
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..conf import SETTINGS_NAME, realtime_settings
from ..exceptions import RealtimeConfigurationError
from ..validation import is_int
from .websocket import CLOSE, TEXT, TLSTimeout, WebSocket, WireError

#: Seconds for the whole probe (connect, TLS, upgrade, first message).
DEFAULT_TIMEOUT = 3.0
QUERY = "protocol=7&client=django-toolbox-realtime&version=0.1.0"
_MAX_FRAMES = 16  # pings or unrelated messages before the answer: bounded
_KEY_RE = re.compile(r"\A[\x21-\x7e]{1,200}\Z")  # printable ASCII, no space
_HOST_RE = re.compile(r"\A(?:[A-Za-z0-9_.-]{1,253}|[0-9A-Fa-f:.]{2,45})\Z")

# pusher:error codes (Pusher protocol 7) -> what to do about them.
_ADVICE = {
    4001: "check {s}['KEY'] (and, for hosted Pusher, {s}['CLUSTER']): every browser gets "
    "this error too",
    4003: "the app is disabled on the server",
    4004: "the app is over its connection quota",
    4005: "the server does not serve /app/<key> at this address: check {where}",
    4100: "the server is over capacity; try again later",
}


@dataclass(frozen=True)
class ProbeResult:
    """What the probe found. ``message`` names the setting to fix; it never holds
    the secret (the key is public: pusher-js sends it in every connection URL)."""

    ok: bool
    url: str
    message: str
    code: int | None = None  # the pusher:error code or the WebSocket close code
    socket_id: str | None = None
    latency_ms: float | None = None


class _ProbeFailure(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


def websocket_endpoint() -> tuple[str, int, bool]:
    """``(host, port, tls)`` of the WebSocket server pusher-js would connect to."""
    s = realtime_settings
    tls = bool(s.SSL)
    host = str(s.HOST) if s.HOST else f"ws-{s.CLUSTER or 'mt1'}.pusher.com"
    port = int(s.PORT) if s.HOST and s.PORT else (443 if tls else 80)
    return host, port, tls


def server_settings() -> str:
    """The settings that say where the server is, for error messages."""
    if realtime_settings.HOST:
        return f"{SETTINGS_NAME}['HOST'], ['PORT'] and ['SSL']"
    return f"{SETTINGS_NAME}['CLUSTER'] and ['SSL']"


def _validated() -> tuple[str, str, int, bool]:
    """The key and the endpoint, refused before any network call if unusable."""
    key = realtime_settings.KEY
    if key is None or not _KEY_RE.match(str(key)):
        raise RealtimeConfigurationError(
            f"{SETTINGS_NAME}['KEY'] must be 1-200 printable ASCII characters without "
            "spaces (it is part of the WebSocket URL)."
        )
    port = realtime_settings.PORT
    digits = str(port).isascii() and str(port).isdigit()
    if port not in (None, "") and (not digits or not 0 < int(port) < 65536):
        raise RealtimeConfigurationError(f"{SETTINGS_NAME}['PORT'] must be a port number.")
    host, port, tls = websocket_endpoint()
    if not _HOST_RE.match(host):
        raise RealtimeConfigurationError(
            f"{SETTINGS_NAME}['HOST'] (or ['CLUSTER']) is not a host name or IP address."
        )
    return str(key), host, port, tls


def probe(timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """Connect once with the configured key; never raises for what the server does.

    Raises :class:`RealtimeConfigurationError` (before any network call) when the
    key, host or port cannot be used at all.
    """
    key, host, port, tls = _validated()
    label = f"{host}:{port}"
    url = f"{'wss' if tls else 'ws'}://{label}/app/{key}"
    started = time.monotonic()
    try:
        ws = WebSocket(host, port, tls, f"/app/{quote(key, safe='')}?{QUERY}", started + timeout)
        try:
            socket_id = _first_answer(ws, key, label)
        finally:
            ws.close()
    except _ProbeFailure as exc:
        return ProbeResult(False, url, str(exc), exc.code)
    except WireError as exc:
        return ProbeResult(False, url, _wire_failure(exc, label))
    except OSError as exc:  # refused, timed out, unresolvable, TLS
        return ProbeResult(False, url, _network_failure(exc, label, timeout))
    latency = (time.monotonic() - started) * 1000.0
    message = f"{url} accepted {SETTINGS_NAME}['KEY'] (pusher:connection_established)."
    return ProbeResult(True, url, message, socket_id=socket_id, latency_ms=latency)


def _network_failure(exc: OSError, label: str, timeout: float) -> str:
    """What went wrong before the server could answer, and which setting to check."""
    if isinstance(exc, TLSTimeout):
        return (
            f"No TLS answer from {label} within {timeout:g} s: check {SETTINGS_NAME}['SSL'] "
            "(True means wss://; a plain ws:// server does not answer TLS)."
        )
    if isinstance(exc, TimeoutError):
        return (
            f"No WebSocket answer from {label} within {timeout:g} s: is a Pusher-protocol "
            f"server there? Check {server_settings()}."
        )
    if isinstance(exc, ConnectionRefusedError):
        return f"Nothing accepts connections at {label} (refused): check {server_settings()}."
    if isinstance(exc, socket.gaierror):
        return f"Cannot resolve {label.rsplit(':', 1)[0]!r}: check {server_settings()}."
    if isinstance(exc, ssl.SSLError):
        return (
            f"TLS with {label} failed ({exc.reason or exc.__class__.__name__}): check "
            f"{SETTINGS_NAME}['SSL'] (True means wss://)."
        )
    reason = exc.strerror or exc.__class__.__name__
    return f"Could not reach {label} ({reason}): check {server_settings()}."


def _wire_failure(exc: WireError, label: str) -> str:
    if exc.status is not None:
        return (
            f"{label} answered {exc} at /app/<key>: is it a Pusher-protocol server? "
            f"Check {server_settings()}."
        )
    return f"{label}: {exc}"


def _first_answer(ws: WebSocket, key: str, label: str) -> str:
    """The socket id of ``pusher:connection_established``; a failure otherwise."""
    for _ in range(_MAX_FRAMES):
        opcode, payload = ws.read_message()
        if opcode == CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            reason = payload[2:].decode("utf-8", "replace")
            raise _refused(code, reason, key, label)
        if opcode != TEXT:
            continue  # ping, pong, binary: not the answer
        try:
            message = json.loads(payload)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        data = _decoded(message.get("data"))
        if message.get("event") == "pusher:connection_established":
            return str(data.get("socket_id", ""))
        if message.get("event") == "pusher:error":
            code = data.get("code")
            raise _refused(code if is_int(code) else None, str(data.get("message", "")), key, label)
    raise _ProbeFailure(f"{label} sent {_MAX_FRAMES} messages, none of them the answer.")


def _decoded(data: Any) -> dict[str, Any]:
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return {}
    return data if isinstance(data, dict) else {}


def _refused(code: int | None, reason: str, key: str, label: str) -> _ProbeFailure:
    said = f" ({reason[:200]!r})" if reason else ""
    code = int(code) if code is not None else None
    advice = _ADVICE.get(code or 0, "").format(s=SETTINGS_NAME, where=server_settings())
    if code == 4001:
        text = f"The server at {label} does not know the app key {key!r}: pusher:error 4001{said}"
    else:
        text = f"The server at {label} refused the WebSocket connection: code {code}{said}"
    return _ProbeFailure(f"{text}; {advice}." if advice else f"{text}.", code)
