"""Small helpers shared by tests: protocol signatures computed independently of the app."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import requests
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler


def sign(secret: str, payload: str | bytes) -> str:
    """Hex HMAC-SHA256, written here independently of the app's signing code."""
    raw = payload.encode() if isinstance(payload, str) else payload
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def channel_auth(
    key: str, secret: str, socket_id: str, channel: str, channel_data: str | None = None
) -> str:
    """The auth string for a private/presence subscription, per PROTOCOL.md."""
    parts = [socket_id, channel] + ([channel_data] if channel_data is not None else [])
    return f"{key}:{sign(secret, ':'.join(parts))}"


# --- the pusher-js endpoints, as the tests call them ----------------------------------

AUTH_URL = "/api/v1/pusher/auth"
USER_AUTH_URL = "/api/v1/pusher/user-auth"


def form_post(client: Any, url: str = AUTH_URL, **fields: str) -> Any:
    """POST form-encoded, like pusher-js."""
    return client.post(url, urlencode(fields), content_type="application/x-www-form-urlencoded")


def bearer_headers(user: Any) -> dict[str, str]:
    """``Authorization: Bearer <token>`` for ``user`` (its DRF token, created if needed),
    as keyword arguments of a test client request."""
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {token.key}"}


def seed_demo(*args: str) -> str:
    """Run the example project's ``seed_demo`` command; return what it printed."""
    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


class SerialLiveServerThread(LiveServerThread):
    """Serves one request at a time.

    With in-memory SQLite the test's database connection is shared with the server
    thread; Django's threaded live server would run concurrent requests on that one
    connection, interleaving their transactions (a test artefact: a real deployment
    gives each request its own connection). ``live_server`` uses it only there: other
    databases keep the threaded server, so concurrent requests really race."""

    def _create_server(self, connections_override: Any = None) -> Any:
        return WSGIServer(
            (self.host, self.port), QuietWSGIRequestHandler, allow_reuse_address=False
        )


@contextmanager
def live_server(
    django_db_blocker: Any,
    *,
    in_memory_thread_class: type | None = None,
    wait_timeout: float | None = None,
    **overrides: Any,
) -> Iterator[str]:
    """A live Django server (a real socket) on 127.0.0.1; yields its base URL.

    The tests' in-memory SQLite connections are shared with the server thread (which
    then runs as ``in_memory_thread_class``, if given). ``overrides`` are settings
    applied while the server builds its handler (and its middleware)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.db import connections
    from django.test import override_settings

    shared = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}
    thread_class = (in_memory_thread_class if shared else None) or LiveServerThread
    with django_db_blocker.unblock(), override_settings(**overrides):
        thread = thread_class("127.0.0.1", StaticFilesHandler, connections_override=shared)
        thread.daemon = True
        for conn in shared.values():
            conn.inc_thread_sharing()
        thread.start()
        thread.is_ready.wait(timeout=wait_timeout)  # the handler is built by now
        if thread.error:
            raise thread.error
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.terminate()
        for conn in shared.values():
            conn.dec_thread_sharing()


def demo_session(base: str, username: str) -> Any:
    """A ``requests`` session signed in as a demo user through the login form of the
    live server at ``base`` (password ``demo1234``)."""
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=10)
    response = session.post(
        f"{base}/accounts/login/",
        data={
            "username": username,
            "password": "demo1234",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:300]
    return session


def cookie_header(session: Any) -> str:
    """The session's cookies as one ``Cookie`` header value."""
    return "; ".join(f"{k}={v}" for k, v in session.cookies.get_dict().items())


# --- a local HTTP server standing in for the Pusher REST API ---------------------------


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers with :meth:`answer`."""

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler], **attributes: Any) -> Iterator[Any]:
    """A threaded server on 127.0.0.1 (a free port), ``attributes`` set on it for
    the handler to read and write (``self.server.<name>``); stopped on exit."""
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for name, value in attributes.items():
        setattr(server, name, value)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
