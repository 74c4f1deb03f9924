"""Fixtures of the malformed-request tests: the app without the example project's
own middleware (the app must be safe in any project), and live servers with and
without it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.conf import settings as django_settings

from tests.fuzz.world import MASTER_KEY, build_world
from tests.helpers import live_server


def app_middleware() -> list[str]:
    """MIDDLEWARE without the example project's own classes (its Content-Length
    guard would answer before the app's views are reached)."""
    return [m for m in django_settings.MIDDLEWARE if not m.startswith("example_project.")]


@pytest.fixture
def without_project_middleware(settings: Any) -> None:
    """The test client runs the app's views behind Django's middleware only."""
    settings.MIDDLEWARE = app_middleware()


@pytest.fixture(scope="module", params=["app middleware", "example project middleware"])
def server_url(request: Any, django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """A live Django server (a real socket); its base URL. Once with Django's
    middleware only (a project that adds nothing), once with the example project's."""
    overrides = {"MIDDLEWARE": app_middleware()} if request.param == "app middleware" else {}
    with live_server(django_db_blocker, wait_timeout=30, **overrides) as url:
        yield url


# --- the security cases table (test_cases_table.py) ---------------------------------


class StubServer:
    """A real HTTP server on a free port standing in for Pusher's REST API: it answers
    ``status`` to every request and records (method, path, JSON body)."""

    def __init__(self) -> None:
        self.status = 200
        self.requests: list[tuple[str, str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                stub.requests.append((self.command, self.path, json.loads(raw) if raw else None))
                body = b"{}" if stub.status == 200 else b'{"error": "stub says no"}'
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def posts(self) -> list[Any]:
        return [body for method, _, body in self.requests if method == "POST"]


@pytest.fixture
def stub(settings: Any) -> Iterator[StubServer]:
    """TOOLBOX_REALTIME's real Pusher backend pointed at a StubServer; first tries
    inline, retries due at once."""
    server = StubServer()
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "BACKEND": "django_toolbox_realtime.backends.pusher.PusherBackend",
        "PORT": server.port,
        "FIRST_ATTEMPT": "inline",
        "FIRST_ATTEMPT_GRACE_SECONDS": 0,
        "RETRY_BASE_SECONDS": 0.001,
        "RETRY_MAX_SECONDS": 0.001,
        "TIMEOUT": 2,
    }
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def cases_world(db: Any, settings: Any) -> Any:
    """The fuzz tests' seeded users, policies and clients (tests/fuzz/world.py)."""
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ENCRYPTION_MASTER_KEY_BASE64": MASTER_KEY,
    }
    return build_world()
