"""The keep-alive transport (backends/transport.py) against real servers: soketi
(connections counted by a local TCP proxy in front of it) and a local HTTP/1.1
keep-alive server for what soketi cannot be made to do: keep a connection open
(soketi 1.6 answers every API request with ``Connection: close`` and closes it),
close an idle one, drop a request, never answer. Requests are counted where they
arrive."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from django_toolbox_realtime import RealtimeDeliveryError, trigger_batch
from django_toolbox_realtime.backends import http_client, transport
from tests.conftest import PUSHER_BACKEND, realtime_for
from tests.proxy import DelayingProxy

pytestmark = [pytest.mark.integration]

EVENT = {"name": "e", "channels": ["public-transport"], "data": "{}"}
OK = {"ok": True}  # what soketi answers to an event (and so does the local server)


class _Handler(BaseHTTPRequestHandler):
    """Answers ``{"ok": true}`` with keep-alive, or as ``server.mode`` says."""

    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stall
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.changed:
            self.server.connections += 1

    def finish(self) -> None:
        super().finish()
        with self.server.changed:
            self.server.closed += 1
            self.server.changed.notify_all()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.changed:
            self.server.requests += 1
            self.server.paths.append(self.path)
            mode = self.server.mode
        if mode in ("drop", "silent"):
            if mode == "silent":
                self.server.release.wait(10)
            self.close_connection = True  # no answer at all
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "12")
        if mode == "close_header":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')
        if mode == "answer_then_close":
            self.close_connection = True  # closed while idle, without a word

    do_GET = do_POST

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "answer"
        self.connections = self.closed = self.requests = 0
        self.paths: list[str] = []
        self.changed = threading.Condition()
        self.release = threading.Event()

    def wait_closed(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.closed >= count, timeout=5)


@pytest.fixture
def local() -> Iterator[_Server]:
    server = _Server()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def counted(soketi: Any, settings: Any) -> Iterator[DelayingProxy]:
    """soketi behind a TCP proxy that counts the connections made to it."""
    with DelayingProxy(soketi.port) as proxy:
        settings.TOOLBOX_REALTIME = realtime_for(soketi, PORT=proxy.port)
        yield proxy


def point_at(settings: Any, port: int, **overrides: Any) -> None:
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "HOST": "127.0.0.1",
        "PORT": port,
        "SSL": False,
        "BACKEND": PUSHER_BACKEND,
        **overrides,
    }


def assert_no_credentials(error: Exception, settings: Any) -> None:
    text = str(error)
    assert "auth_signature" not in text and "auth_key" not in text
    assert settings.TOOLBOX_REALTIME["SECRET"] not in text


def test_batches_reach_a_websocket_client_through_soketi(ws_client, counted):
    client = ws_client()
    client.subscribe("public-transport")
    result = trigger_batch(
        [{"channel": "public-transport", "event": "step", "data": {"i": i}} for i in range(25)]
    )
    assert result["sent"] and result["requests"] == 3
    received = client.wait_for_count("step", 25, channel="public-transport")
    assert [json.loads(m["data"])["i"] for m in received] == list(range(25))
    # soketi closes each API connection ("Connection: close"): one per request,
    # honoured without a failed send or a retry.
    assert counted.connections == 3


def test_one_thread_reuses_one_connection(local, settings):
    point_at(settings, local.server_port)
    for _ in range(50):
        assert http_client.send("POST", "/events", EVENT) == OK
    assert (local.requests, local.connections) == (50, 1)


def test_four_threads_use_at_most_four_connections(local, settings):
    point_at(settings, local.server_port)
    start = threading.Barrier(4)
    answers: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait(5)
            answers.extend(http_client.send("POST", "/events", EVENT) for _ in range(25))
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion)
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and answers == [OK] * 100
    assert local.requests == 100 and local.connections <= 4


def test_settings_reload_drops_the_connections(local, settings):
    point_at(settings, local.server_port)
    http_client.send("POST", "/events", EVENT)
    point_at(settings, local.server_port)  # the same values, reloaded
    http_client.send("POST", "/events", EVENT)
    assert local.connections == 2


def test_a_forked_child_opens_its_own_connection(local, settings):
    point_at(settings, local.server_port)
    http_client.send("POST", "/events", EVENT)
    pid = os.fork()
    if pid == 0:  # the child: never back into pytest
        try:
            http_client.send("POST", "/events", EVENT)
        except BaseException:  # noqa: BLE001
            os._exit(1)
        os._exit(0)
    status: list[int] = []
    waiter = threading.Thread(target=lambda: status.append(os.waitpid(pid, 0)[1]))
    waiter.start()
    waiter.join(10)
    assert status == [0]
    assert local.connections == 2  # the parent's socket was not shared
    http_client.send("POST", "/events", EVENT)  # the parent's connection still works
    assert (local.requests, local.connections) == (3, 2)


def test_an_idle_connection_the_server_closed_is_reopened(local, settings):
    point_at(settings, local.server_port)
    local.mode = "answer_then_close"
    http_client.send("POST", "/events", EVENT)
    local.wait_closed(1)  # closed while idle: the client was not told
    local.mode = "answer"
    assert http_client.send("POST", "/events", EVENT) == OK
    assert (local.requests, local.connections) == (2, 2)


def test_a_reused_connection_dropped_under_a_request_is_retried_once(local, settings):
    point_at(settings, local.server_port)
    http_client.send("POST", "/events", EVENT)
    local.mode = "drop"  # the request is read, the connection closed, no status line
    with pytest.raises(RealtimeDeliveryError) as info:
        http_client.send("POST", "/events", EVENT)
    assert "cannot reach" in str(info.value) and "RemoteDisconnected" in str(info.value)
    assert (local.requests, local.connections) == (3, 2)  # 1 + the request and its retry
    assert_no_credentials(info.value, settings)


def test_a_fresh_connection_that_fails_is_not_retried(local, settings):
    point_at(settings, local.server_port)
    local.mode = "drop"
    with pytest.raises(RealtimeDeliveryError) as info:
        http_client.send("POST", "/events", EVENT)
    assert "cannot reach" in str(info.value) and info.value.retryable
    assert (local.requests, local.connections) == (1, 1)


def test_connection_close_is_honoured(local, settings):
    point_at(settings, local.server_port)
    local.mode = "close_header"
    for _ in range(3):
        assert http_client.send("GET", "/channels") == OK
    assert (local.requests, local.connections) == (3, 3)  # none failed, none retried


@pytest.mark.parametrize("reused", [False, True])
def test_a_server_that_never_answers_times_out_once(local, settings, reused):
    point_at(settings, local.server_port, TIMEOUT=0.5)
    if reused:
        http_client.send("POST", "/events", EVENT)
    local.mode = "silent"
    started = time.monotonic()
    with pytest.raises(RealtimeDeliveryError) as info:
        http_client.send("POST", "/events", EVENT)
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 0.5 + 0.4  # one timeout: never sent again
    assert f"no answer from 127.0.0.1:{local.server_port} within 0.5 s" in str(info.value)
    assert "TOOLBOX_REALTIME['TIMEOUT']" in str(info.value) and info.value.retryable
    assert local.requests == 1 + reused
    assert_no_credentials(info.value, settings)


def test_a_refused_port_cannot_be_reached(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    point_at(settings, port)
    with pytest.raises(RealtimeDeliveryError) as info:
        http_client.send("POST", "/events", EVENT)
    assert str(info.value) == (
        f"POST /events: cannot reach 127.0.0.1:{port}: ConnectionRefusedError."
    )
    assert info.value.status is None and info.value.retryable


def test_with_a_proxy_in_the_environment_requests_goes_through_it(local, settings, monkeypatch):
    proxy = _Server()
    threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True).start()
    try:
        for name in ("NO_PROXY", "no_proxy", "http_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")
        point_at(settings, local.server_port)  # read at the settings load
        assert http_client.send("POST", "/events", EVENT) == OK
        assert local.requests == 0 and len(proxy.paths) == 1
        assert proxy.paths[0].startswith(f"http://127.0.0.1:{local.server_port}/apps/")

        monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # bypassed: straight to the server
        point_at(settings, local.server_port)
        assert http_client.send("POST", "/events", EVENT) == OK
        assert local.requests == 1 and len(proxy.paths) == 1
    finally:
        proxy.shutdown()
        proxy.server_close()
    transport.reset()  # no proxy answer outlives the environment
