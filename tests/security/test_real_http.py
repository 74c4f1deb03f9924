"""Malformed requests over real HTTP (a live Django server, raw sockets): a
Content-Length that is not a number, negative, or larger than the body, and JSON
nested thousands of levels deep, on every endpoint of the app → never a 5xx
(SECURITY_CASES 30, 31). The test client cannot send a body shorter than its
Content-Length; a socket that half-closes can."""

from __future__ import annotations

import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token

from django_toolbox_realtime.models import ChannelPolicy
from tests.helpers import sign

AUTH = "/api/v1/pusher/auth"
USER_AUTH = "/api/v1/pusher/user-auth"
WEBHOOK = "/api/v1/pusher/webhook"
# The app's own health paths and the example project's (DESIGN.md).
HEALTH_PATHS = [
    "/api/v1/pusher/health",
    "/api/v1/pusher/status",
    "/health",
    "/health/pusher/status",
]
POST_PATHS = [AUTH, USER_AUTH, WEBHOOK, *HEALTH_PATHS]
FORM = "socket_id=1.1&channel_name=private-student"
DEEP = '{"socket_id": ' + "[" * 50_000 + "]" * 50_000 + ', "channel_name": "private-student"}'
CSRF_COOKIE = "csrftoken=" + "a" * 32  # well-formed: CSRF middleware goes on to read the POST


def raw_request(
    base_url: str, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    """Send one request as written (headers unchecked), half-close, read the answer.
    Returns (status, body). Bounded: every socket operation times out after 10 s."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head.encode() + body)  # UTF-8: the server reads Latin-1
        sock.shutdown(socket.SHUT_WR)  # the server sees where the body really ends
        received = bytearray()
        while len(received) < 1_000_000:  # bounded; each recv times out too
            chunk = sock.recv(65_536)
            if not chunk:
                break
            received += chunk
    status_line, _, rest = bytes(received).partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1."), received[:200]
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.fixture
def bearer(transactional_db: Any) -> dict[str, str]:
    """A student with a token, and a policy for ``private-student``."""
    user = User.objects.create_user("stu", password="pw-12345")
    user.groups.add(Group.objects.get_or_create(name="student")[0])
    ChannelPolicy.objects.create(channel="private-student", min_role="student")
    return {"Authorization": f"Bearer {Token.objects.create(user=user).key}"}


def content_lengths(body: bytes) -> list[str]:
    """Declared lengths that lie: not a number, negative, signs and separators that
    int() accepts, non-ASCII digits, too many digits, larger than the body."""
    return ["abc", "-1", "+1", "1_0", "٣", "9" * 5000, str(len(body) + 10)]


def request_for(path: str, bearer: dict[str, str]) -> tuple[dict[str, str], bytes]:
    """Headers and a body the endpoint at ``path`` accepts: a signed webhook of
    now, or the student's form."""
    if path == WEBHOOK:
        body = json.dumps({"time_ms": int(time.time() * 1000), "events": []}).encode()
        signature = sign(django_settings.TEST_SECRET, body)
        headers = {"X-Pusher-Key": django_settings.TEST_KEY, "X-Pusher-Signature": signature}
        return {**headers, "Content-Type": "application/json"}, body
    return {**bearer, "Content-Type": "application/x-www-form-urlencoded"}, FORM.encode()


@pytest.mark.parametrize("path", POST_PATHS)
@pytest.mark.parametrize("cookie", [None, CSRF_COOKIE])
def test_lying_content_length_is_never_5xx(
    server_url: str, bearer: dict[str, str], path: str, cookie: str | None
) -> None:
    headers, body = request_for(path, bearer)
    if cookie:
        headers["Cookie"] = cookie
    seen = {}
    for declared in content_lengths(body):
        status, answer = raw_request(
            server_url, "POST", path, {**headers, "Content-Length": declared}, body
        )
        seen[declared[:10]] = status
        assert status < 500, (declared[:20], status, answer[:300])
    if path in (AUTH, USER_AUTH, WEBHOOK):
        assert set(seen.values()) == {400}, seen  # refused as malformed, not later


@pytest.mark.parametrize("path", HEALTH_PATHS)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_health_with_a_garbage_body_is_never_5xx(
    server_url: str, transactional_db: Any, path: str, method: str
) -> None:
    """GET/HEAD never read the body: the health answer (503 only as "unhealthy",
    in JSON), or the example project's 400 for a Content-Length that is no number."""
    for declared, body in [("abc", b"x"), ("-1", b""), ("20", b"short"), ("3", b"\xff\x00{")]:
        headers = {"Content-Length": declared, "Content-Type": "application/json"}
        status, answer = raw_request(server_url, method, path, headers, body)
        assert status in (200, 400, 503), (declared, status, answer[:300])
        if method == "GET" and status != 400:
            assert "status" in json.loads(answer)["data"]  # the health answer itself


@pytest.mark.parametrize("path", POST_PATHS)
def test_deep_json_is_never_5xx(server_url: str, bearer: dict[str, str], path: str) -> None:
    body = DEEP.encode()
    headers = {**bearer, "Content-Type": "application/json", "Content-Length": str(len(body))}
    status, answer = raw_request(server_url, "POST", path, headers, body)
    assert status < 500, answer[:300]
    if path in (AUTH, USER_AUTH, WEBHOOK):
        assert status == 400, answer[:300]
        assert b'"auth"' not in answer


@pytest.mark.parametrize("path", [AUTH, USER_AUTH, WEBHOOK])
def test_the_same_requests_with_a_true_content_length_succeed(
    server_url: str, bearer: dict[str, str], path: str
) -> None:
    """The control: with its real length, each request above is accepted."""
    headers, body = request_for(path, bearer)
    headers["Content-Length"] = str(len(body))
    status, answer = raw_request(server_url, "POST", path, headers, body)
    assert status == 200, answer[:300]
    assert ("auth" in json.loads(answer)) is (path != WEBHOOK)
