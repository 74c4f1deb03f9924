"""Fixtures for the webhook, state and health tests: signed requests, event
builders, health requests, a signal log and a concurrent runner."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection

from django_toolbox_realtime import signals
from django_toolbox_realtime.backends import http_client as client_module
from django_toolbox_realtime.health import server as health_server
from django_toolbox_realtime.webhooks.verification import KNOWN_EVENTS
from tests.conftest import PUSHER_BACKEND
from tests.helpers import SerialLiveServerThread, channel_auth, live_server, sign

WEBHOOK_URL = "/api/v1/pusher/webhook"
STATUS_URL = "/health/pusher/status"
HEALTH_URL = "/health"
# Every event name the app understands has a signal of the same name.
WEBHOOK_SIGNALS = tuple(sorted(KNOWN_EVENTS))
#: The channel of the event builders below unless told otherwise.
CH = "presence-classroom-101"


def now_ms() -> int:
    return int(time.time() * 1000)


def make_body(events: list[dict[str, Any]], time_ms: int | None = None) -> bytes:
    return json.dumps(
        {"time_ms": now_ms() if time_ms is None else time_ms, "events": events}
    ).encode()


def signed_headers(
    body: bytes, secret: str | None = None, key: str | None = None
) -> dict[str, str]:
    return {
        "HTTP_X_PUSHER_KEY": key if key is not None else django_settings.TEST_KEY,
        "HTTP_X_PUSHER_SIGNATURE": sign(secret or django_settings.TEST_SECRET, body),
    }


# --- events -----------------------------------------------------------------------------------


def occupied(ch: str = CH) -> dict[str, Any]:
    return {"name": "channel_occupied", "channel": ch}


def vacated(ch: str = CH) -> dict[str, Any]:
    return {"name": "channel_vacated", "channel": ch}


def added(user: str, ch: str = CH) -> dict[str, Any]:
    return {"name": "member_added", "channel": ch, "user_id": user}


def removed(user: str, ch: str = CH) -> dict[str, Any]:
    return {"name": "member_removed", "channel": ch, "user_id": user}


def client_event(ch: str = CH) -> dict[str, Any]:
    return {
        "name": "client_event",
        "channel": ch,
        "event": "client-typing",
        "data": '{"x":1}',
        "socket_id": "1.2",
        "user_id": "7",
    }


# --- health -----------------------------------------------------------------------------------


def secret_free(response: Any) -> str:
    text = response.content.decode()
    for secret in (django_settings.TEST_SECRET, django_settings.TEST_KEY, "Traceback"):
        assert secret not in text
    return text


def get_status(client: Any) -> tuple[int, dict[str, Any]]:
    """GET /health/pusher/status: (HTTP status, data), checked for secrets."""
    response = client.get(STATUS_URL)
    secret_free(response)
    body = response.json()
    assert body["success"] is True
    return response.status_code, body["data"]


@pytest.fixture
def unreachable(settings: Any) -> None:
    """The real backend, pointing where nothing listens."""
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "BACKEND": PUSHER_BACKEND,
        "PORT": 9,  # nothing listens
        "TIMEOUT": 1,
    }


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def post_webhook(client: Any) -> Callable[..., Any]:
    """post_webhook(events | bytes, time_ms=None, secret=None, key=None, headers=None)."""

    def post(
        events: list[dict[str, Any]] | bytes,
        *,
        time_ms: int | None = None,
        secret: str | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        body = events if isinstance(events, bytes) else make_body(events, time_ms)
        hdrs = signed_headers(body, secret, key) if headers is None else headers
        return client.post(WEBHOOK_URL, data=body, content_type="application/json", **hdrs)

    return post


class Requests:
    """Counts the real HTTP requests the app makes to the server's API."""

    def __init__(self, monkeypatch: Any) -> None:
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        real = client_module.send

        def counting(method: str, path: str, params: Any = None) -> Any:
            with self._lock:
                self.calls.append((method, path))
            return real(method, path, params)

        monkeypatch.setattr(client_module, "send", counting)


@pytest.fixture
def requests_made(monkeypatch: Any) -> Requests:
    return Requests(monkeypatch)


@pytest.fixture
def clock(monkeypatch: Any) -> Iterator[list[float]]:
    """A settable clock for the health cache periods: ``clock[0] += 10``."""
    now = [1_000_000.0]
    monkeypatch.setattr(health_server, "clock", lambda: now[0])
    yield now


class SignalLog:
    """Every webhook signal received, as (signal name, kwargs), thread-safe; a
    test can wait for a signal from another thread (:meth:`wait_for`)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Condition()  # reentrant: predicates may read the log
        self._receivers: list[tuple[Any, Any]] = []

    def connect(self) -> None:
        for name in WEBHOOK_SIGNALS:
            signal = getattr(signals, name)

            def receiver(sender: Any, _name: str = name, **kwargs: Any) -> None:
                kwargs.pop("signal", None)
                with self._lock:
                    self.calls.append((_name, kwargs))
                    self._lock.notify_all()

            signal.connect(receiver, weak=False)
            self._receivers.append((signal, receiver))

    def disconnect(self) -> None:
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)

    def names(self) -> list[str]:
        with self._lock:
            return [n for n, _ in self.calls]

    def of(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [k for n, k in self.calls if n == name]

    def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
        """``condition()`` once it is truthy, woken by each signal received; fails
        after ``timeout`` seconds."""
        with self._lock:
            value = self._lock.wait_for(condition, timeout)
        if not value:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        return value


@pytest.fixture
def signal_log() -> Iterator[SignalLog]:
    log = SignalLog()
    log.connect()
    yield log
    log.disconnect()


def join_presence(ws: Any, channel: str, user_id: str, server: Any) -> dict[str, Any]:
    """Subscribe the connected ``ws`` client to ``channel`` as ``user_id``."""
    channel_data = json.dumps({"user_id": user_id, "user_info": {}})
    auth = channel_auth(server.key, server.secret, ws.socket_id, channel, channel_data)
    answer = ws.subscribe(channel, auth=auth, channel_data=channel_data)
    assert answer["event"] == "pusher_internal:subscription_succeeded", answer
    return answer


def run_together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run ``jobs`` in threads released at the same moment; return their results
    (an exception a job raised is its result)."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = jobs[i]()
        except Exception as exc:  # surfaced by the caller's assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture(scope="module")
def webhook_live_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """A live Django server for soketi's webhooks; yields its base URL (127.0.0.1)."""
    with live_server(django_db_blocker, in_memory_thread_class=SerialLiveServerThread) as url:
        yield url
