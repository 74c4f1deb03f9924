"""A minimal WebSocket client (RFC 6455) on the standard library, for the probe.

Just enough to open a connection (TCP, optionally TLS), upgrade it, read whole
messages and say goodbye, with every step bounded by one deadline and every
size bounded. Not a general client: it never sends data frames.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import socket
import ssl
import struct
import time

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
MAX_HEADER_BYTES = 16_384
MAX_MESSAGE_BYTES = 65_536
MAX_FRAGMENTS = 16
CLOSE = 0x8
TEXT = 0x1


class WireError(Exception):
    """The server broke the protocol, refused the upgrade or closed early.
    ``status`` is the HTTP status of a refused upgrade."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TLSTimeout(TimeoutError):
    """The TLS handshake did not finish in time (often: a plain ws:// server)."""


def remaining(deadline: float) -> float:
    """Seconds left before ``deadline`` (a ``time.monotonic()``); TimeoutError if none."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


class WebSocket:
    """One client connection. Raises OSError (TimeoutError, refused, TLS) and WireError."""

    def __init__(self, host: str, port: int, tls: bool, path: str, deadline: float) -> None:
        self.deadline = deadline
        self.buffer = bytearray()
        self.sock = socket.create_connection((host, port), timeout=remaining(deadline))
        try:
            if tls:
                self.sock.settimeout(remaining(deadline))
                context = ssl.create_default_context()
                try:
                    self.sock = context.wrap_socket(self.sock, server_hostname=host)
                except TimeoutError as exc:
                    raise TLSTimeout from exc
            self._upgrade(host, port, tls, path)
        except BaseException:
            self.sock.close()
            raise

    def _fill(self) -> None:
        self.sock.settimeout(remaining(self.deadline))
        chunk = self.sock.recv(65_536)
        if not chunk:
            raise WireError("The server closed the connection without answering.")
        self.buffer += chunk

    def _read(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = bytes(self.buffer[:size]), self.buffer[size:]
        return data

    def _upgrade(self, host: str, port: int, tls: bool, path: str) -> None:
        nonce = base64.b64encode(os.urandom(16))
        host_header = f"[{host}]" if ":" in host else host
        if port != (443 if tls else 80):
            host_header += f":{port}"
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {nonce.decode()}\r\nSec-WebSocket-Version: 13\r\n"
            "User-Agent: django-toolbox-realtime\r\n\r\n"
        )
        self.sock.sendall(request.encode("ascii"))
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEADER_BYTES:
                raise WireError(f"The answer's headers exceed {MAX_HEADER_BYTES} bytes.")
            self._fill()
        end = self.buffer.index(b"\r\n\r\n")
        head, self.buffer = bytes(self.buffer[:end]).decode("latin-1"), self.buffer[end + 4 :]
        status_line, *lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        if status != 101:
            raise WireError(f"HTTP {status} instead of a WebSocket upgrade", status)
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1(nonce + _GUID).digest()).decode()  # noqa: S324
        if headers.get("sec-websocket-accept") != expected:
            raise WireError("The server answered the upgrade with a wrong accept key.")

    def read_message(self) -> tuple[int, bytes]:
        """``(opcode, payload)`` of the next message (fragments joined), or of a
        control frame (close, ping, pong) that comes first."""
        opcode, payload = None, b""
        for _ in range(MAX_FRAGMENTS):
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            if len(payload) + length > MAX_MESSAGE_BYTES:
                raise WireError(f"The server sent a message over {MAX_MESSAGE_BYTES} bytes.")
            mask = self._read(4) if second & 0x80 else b""
            data = _masked(self._read(length), mask) if mask else self._read(length)
            frame_opcode = first & 0x0F
            if frame_opcode >= CLOSE:  # control frames may come between fragments
                if opcode is None:
                    return frame_opcode, data
                continue
            opcode = frame_opcode if opcode is None else opcode
            payload += data
            if first & 0x80:
                return opcode, payload
        raise WireError(f"The server sent a message in more than {MAX_FRAGMENTS} fragments.")

    def close(self, code: int = 1000) -> None:
        """Send a close frame (without waiting for the answer) and close the socket."""
        mask = os.urandom(4)
        frame = bytes([0x80 | CLOSE, 0x80 | 2]) + mask + _masked(struct.pack("!H", code), mask)
        with contextlib.suppress(OSError):
            self.sock.settimeout(0.5)
            self.sock.sendall(frame)
        self.sock.close()


def _masked(data: bytes, mask: bytes) -> bytes:
    return bytes(b ^ mask[i % 4] for i, b in enumerate(data))
