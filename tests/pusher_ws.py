"""A small Pusher-protocol WebSocket client for tests, on ``websocket-client``.

It speaks protocol 7 as pusher-js does: waits for ``pusher:connection_established``,
subscribes (with an auth signature for private/presence channels), signs in,
and collects every message on a background thread so tests can wait on a
condition with a timeout instead of sleeping.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import websocket


class PusherWSClient:
    def __init__(self, ws_url: str, timeout: float = 10.0) -> None:
        self.ws_url = ws_url
        self.timeout = timeout
        self.messages: list[dict[str, Any]] = []
        self.closed = threading.Event()
        self.close_info: tuple[int | None, str | None] = (None, None)
        self._cond = threading.Condition()
        self._ws = websocket.WebSocket()
        self._thread: threading.Thread | None = None
        self.socket_id: str | None = None

    # --- connection -------------------------------------------------------------
    def connect(self) -> PusherWSClient:
        self._ws.connect(self.ws_url, timeout=self.timeout)
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()
        msg = self.wait_for(lambda m: m["event"] == "pusher:connection_established")
        self.socket_id = json.loads(msg["data"])["socket_id"]
        return self

    def _reader(self) -> None:
        try:
            while True:
                opcode, raw = self._ws.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    code = int.from_bytes(raw[:2], "big") if len(raw) >= 2 else None
                    self.close_info = (code, raw[2:].decode("utf-8", "replace"))
                    break
                if opcode != websocket.ABNF.OPCODE_TEXT:
                    continue
                message = json.loads(raw)
                if message.get("event") == "pusher:ping":
                    self.send("pusher:pong", {})
                with self._cond:
                    self.messages.append(message)
                    self._cond.notify_all()
        except (websocket.WebSocketException, OSError, ValueError):
            pass
        finally:
            self.closed.set()
            with self._cond:
                self._cond.notify_all()

    def close(self) -> None:
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self._ws.close(timeout=1)
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> PusherWSClient:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sending -----------------------------------------------------------------
    def send(self, event: str, data: Any, channel: str | None = None) -> None:
        frame: dict[str, Any] = {"event": event, "data": data}
        if channel:
            frame["channel"] = channel
        self._ws.send(json.dumps(frame))

    def subscribe(
        self,
        channel: str,
        auth: str | None = None,
        channel_data: str | None = None,
        wait: bool = True,
    ) -> dict[str, Any] | None:
        data: dict[str, Any] = {"channel": channel}
        if auth is not None:
            data["auth"] = auth
        if channel_data is not None:
            data["channel_data"] = channel_data
        self.send("pusher:subscribe", data)
        if not wait:
            return None
        return self.wait_for(
            lambda m: (
                m.get("channel") == channel
                and m["event"]
                in ("pusher_internal:subscription_succeeded", "pusher:subscription_error")
                or m["event"] == "pusher:error"
            )
        )

    def signin(self, auth: str, user_data: str) -> dict[str, Any]:
        self.send("pusher:signin", {"auth": auth, "user_data": user_data})
        return self.wait_for(lambda m: m["event"] in ("pusher:signin_success", "pusher:error"))

    # --- waiting -------------------------------------------------------------------
    def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The first message matching ``predicate``, waiting up to
        ``timeout`` seconds; raises TimeoutError with what was received."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed.is_set():
                    raise TimeoutError(
                        f"no matching message; got {[m.get('event') for m in self.messages]}"
                        f" close={self.close_info}"
                    )
                self._cond.wait(remaining)

    def wait_for_count(
        self, name: str, count: int, timeout: float | None = None, channel: str | None = None
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while True:
                found = [
                    m
                    for m in self.messages
                    if m.get("event") == name and (channel is None or m.get("channel") == channel)
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed.is_set():
                    raise TimeoutError(f"{len(found)} of {count} {name!r} events arrived")
                self._cond.wait(remaining)

    def wait_until(
        self, condition: Callable[[list[dict[str, Any]]], bool], timeout: float | None = None
    ) -> bool:
        """Whether ``condition(messages)`` (all received so far) holds within
        ``timeout`` seconds; checked once per wake-up, not once per message, so a
        condition over thousands of messages stays cheap if it is incremental."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while not condition(self.messages):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed.is_set():
                    return condition(self.messages)
                self._cond.wait(remaining)
            return True

    def wait_closed(self, timeout: float | None = None) -> tuple[int | None, str | None]:
        if not self.closed.wait(timeout or self.timeout):
            raise TimeoutError("the server did not close the connection")
        return self.close_info
