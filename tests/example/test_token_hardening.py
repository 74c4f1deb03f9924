"""The example's token endpoint and request bodies under attack (issue 8, items 2 and 7;
SECURITY_CASES 36: password guessing on a token endpoint -> throttled, 429)."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlparse

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token"


def token_rate() -> int:
    """The number of requests the configured ``auth_token`` rate allows."""
    rate = django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth_token"]
    return int(rate.split("/")[0])


def guess(client: Any, password: str, **extra: Any) -> Any:
    return client.post(
        TOKEN_URL, {"username": "teacher", "password": password}, format="json", **extra
    )


def test_password_guessing_is_throttled(demo):
    client = APIClient()
    allowed = token_rate()
    assert 1 <= allowed <= 10  # a rate meant for people, not for a guessing script
    for _ in range(allowed):
        assert guess(client, "wrong").status_code == 400
    throttled = guess(client, "demo1234")  # even the right password, once throttled
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "throttled"
    assert "token" not in throttled.json()
    assert int(throttled["Retry-After"]) > 0
    # Another client address still gets its tokens.
    other = guess(client, "demo1234", REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 200 and len(other.json()["token"]) == 40


def test_forged_forwarded_for_does_not_reset_the_throttle(demo):
    """DRF reads X-Forwarded-For unless NUM_PROXIES says how many proxies to trust:
    the example trusts none by default, so a new forged address per guess does not help."""
    client = APIClient()
    statuses = [
        guess(client, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(token_rate() + 3)
    ]
    assert statuses[: token_rate()] == [400] * token_rate()
    assert set(statuses[token_rate() :]) == {429}


def post_raw(client: Any, body: bytes, content_type: str = "application/json", **extra: Any):
    return client.generic("POST", TOKEN_URL, body, content_type=content_type, **extra)


@pytest.mark.parametrize(
    "body, detail",
    [
        (b"[" * 50_000 + b"]" * 50_000, "nested"),
        (b'{"username": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "nested"),
        (b'{"a": ' * 40 + b"1" + b"}" * 40, "nested"),
        (b'{"username": "teacher", "username": "admin", "password": "x"}', "twice"),
        (b'{"username": "teacher", "password": NaN}', "NaN"),
        (b'["teacher", "demo1234"]', "object"),
        (b"\xff\xfe", "JSON"),
        (b'{"username": "teacher", "password": "demo1234"', "JSON"),
    ],
)
def test_hostile_json_is_400(demo, body, detail):
    client = APIClient(raise_request_exception=False)
    response = post_raw(client, body)
    assert response.status_code == 400, response.content[:200]
    assert response.json()["error"] == "bad_request"
    assert detail in response.json()["detail"]


def test_repeated_form_field_is_400(demo):
    client = APIClient()
    body = b"username=teacher&username=admin&password=demo1234"
    response = post_raw(client, body, "application/x-www-form-urlencoded")
    assert response.status_code == 400 and "twice" in response.json()["detail"]
    multipart = client.post(
        TOKEN_URL, {"username": ["teacher", "admin"], "password": "demo1234"}, format="multipart"
    )
    assert multipart.status_code == 400 and "twice" in multipart.json()["detail"]


def test_oversized_json_is_413(demo, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = APIClient()
    body = json.dumps({"username": "teacher", "password": "x" * 2000}).encode()
    response = post_raw(client, body)
    assert response.status_code == 413
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in response.json()["detail"]


def test_deep_json_on_the_other_example_views_is_400(client, demo):
    from tests.helpers import bearer_headers

    deep = b'{"answers": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    for user, url in (
        ("student", "/api/v1/quiz/1/submit"),
        ("admin", "/api/v1/agents/grader/status"),
    ):
        response = client.generic(
            "POST", url, deep, content_type="application/json", **bearer_headers(demo[user])
        )
        assert response.status_code == 400, url
        assert response.json()["error"] == "bad_request"


BAD_LENGTHS = ["abc", "-5", "-1", "+12", " 12", "1e3", "0x10", "9" * 5000]


@pytest.mark.parametrize("length", BAD_LENGTHS)
@pytest.mark.parametrize("url", [TOKEN_URL, "/accounts/login/", "/api/v1/quiz/1/submit"])
@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "application/json", "multipart/form-data"]
)
def test_bad_content_length_is_400(demo, url, length, content_type):
    """Django's own form parsing (the login page, CSRF) did int(Content-Length): a
    non-numeric value was a 500."""
    client = APIClient(raise_request_exception=False)
    response = client.generic(
        "POST",
        url,
        b"username=teacher&password=demo1234",
        content_type=content_type,
        CONTENT_LENGTH=length,
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "bad_request",
        "detail": "The Content-Length header must be a non-negative decimal number.",
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("length", [b"abc", b"-5", b"9" * 5000])
def test_bad_content_length_over_real_http(live_server, demo, length):
    """The same through a real socket (the live server's WSGI handler)."""
    address = urlparse(live_server.url)
    body = b"username=teacher&password=demo1234"
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: " + length + b"\r\n\r\n" + body
        )
        answer = b""
        while len(answer) < 100_000 and (chunk := sock.recv(65536)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
