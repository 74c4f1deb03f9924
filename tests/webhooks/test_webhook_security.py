"""SECURITY_CASES.md 13-20: bad webhooks are refused and change nothing."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from django_toolbox_realtime import state
from django_toolbox_realtime.models import ChannelState, PresenceMember, WebhookDelivery
from tests.helpers import sign
from tests.webhooks.conftest import WEBHOOK_URL, make_body, now_ms, signed_headers

pytestmark = pytest.mark.django_db

SECRET = django_settings.TEST_SECRET
KEY = django_settings.TEST_KEY
EVENTS = [
    {"name": "channel_occupied", "channel": "presence-classroom-1"},
    {"name": "member_added", "channel": "presence-classroom-1", "user_id": "7"},
]


def assert_nothing_happened(signal_log: Any) -> None:
    assert ChannelState.objects.count() == 0
    assert PresenceMember.objects.count() == 0
    assert signal_log.calls == []


def assert_rejected(response: Any, status: int) -> None:
    assert response.status_code == status, response.content
    assert response.json()["ok"] is False
    row = WebhookDelivery.objects.order_by("-pk").first()
    assert row is not None and row.outcome == "rejected" and row.status_code == status
    assert row.digest is None
    assert SECRET not in response.content.decode()


# --- 13: key and signature --------------------------------------------------------------------

# Headers as functions of the body (built in each test: the body holds the time).
Headers = Callable[[bytes], dict[str, str]]


def _headers(body: bytes, **overrides: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {
        "HTTP_X_PUSHER_KEY": KEY,
        "HTTP_X_PUSHER_SIGNATURE": sign(SECRET, body),
        **overrides,
    }
    return {k: v for k, v in headers.items() if v is not None}


def _signature(make: Callable[[str], str]) -> Headers:
    """The good headers with the signature changed by ``make(good signature)``."""
    return lambda body: _headers(body, HTTP_X_PUSHER_SIGNATURE=make(sign(SECRET, body)))


SIGNATURE_CASES: list[tuple[str, Headers, int]] = [
    ("unknown key", lambda b: _headers(b, HTTP_X_PUSHER_KEY="some-other-key"), 401),
    ("key differs in case", lambda b: _headers(b, HTTP_X_PUSHER_KEY=KEY.upper()), 401),
    (
        "wrong secret",
        lambda b: _headers(b, HTTP_X_PUSHER_SIGNATURE=sign("not-the-secret", b)),
        401,
    ),
    ("truncated signature", _signature(lambda good: good[:-1]), 401),
    ("half signature", _signature(lambda good: good[:32]), 401),
    ("upper-case signature", _signature(str.upper), 401),
    ("signature with spaces", _signature(lambda good: f" {good} "), 401),
    ("sha256= prefix", _signature(lambda good: "sha256=" + good), 401),
    ("signature of another body", _signature(lambda good: sign(SECRET, b"{}")), 401),
    ("missing key header", lambda b: _headers(b, HTTP_X_PUSHER_KEY=None), 400),
    ("missing signature header", lambda b: _headers(b, HTTP_X_PUSHER_SIGNATURE=None), 400),
    ("empty signature", lambda b: _headers(b, HTTP_X_PUSHER_SIGNATURE=""), 400),
    ("no headers", lambda b: {}, 400),
]


@pytest.mark.parametrize(
    "headers,status", [c[1:] for c in SIGNATURE_CASES], ids=[c[0] for c in SIGNATURE_CASES]
)
def test_13_bad_key_or_signature_is_refused(
    client: Any, signal_log: Any, headers: Headers, status: int
) -> None:
    body = make_body(EVENTS)
    response = client.post(WEBHOOK_URL, data=body, content_type="application/json", **headers(body))
    assert_rejected(response, status)
    assert_nothing_happened(signal_log)


def test_13_the_good_signature_is_accepted(client: Any, signal_log: Any) -> None:
    # The control for the table above: the same body with its real headers works.
    body = make_body(EVENTS)
    response = client.post(
        WEBHOOK_URL, data=body, content_type="application/json", **_headers(body)
    )
    assert response.status_code == 200
    assert state.online_users("presence-classroom-1") == ["7"]


def test_13_placeholder_secret_signs_nothing(client: Any, settings: Any, signal_log: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "SECRET": "your_secret_key"}
    body = make_body(EVENTS)
    response = client.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        **signed_headers(body, secret="your_secret_key"),
    )
    assert_rejected(response, 401)
    assert_nothing_happened(signal_log)


def test_13_only_post(client: Any, signal_log: Any) -> None:
    body = make_body(EVENTS)
    assert client.get(WEBHOOK_URL + "?callback=x").status_code == 405
    assert client.put(WEBHOOK_URL, data=body, **_headers(body)).status_code == 405
    assert_nothing_happened(signal_log)


def test_13_csrf_checks_do_not_apply(signal_log: Any) -> None:
    # The server signs its requests; it has no CSRF token (and no session).
    csrf_client = Client(enforce_csrf_checks=True)
    body = make_body(EVENTS)
    response = csrf_client.post(
        WEBHOOK_URL, data=body, content_type="application/json", **signed_headers(body)
    )
    assert response.status_code == 200
    assert signal_log.names() == ["channel_occupied", "member_added"]


def test_13_trailing_slash_is_not_redirected(post_webhook: Any, client: Any) -> None:
    body = make_body(EVENTS)
    response = client.post(
        WEBHOOK_URL + "/", data=body, content_type="application/json", **_headers(body)
    )
    assert response.status_code == 200


# --- 14: the raw body is what is signed -------------------------------------------------------


RESERIALIZED: list[tuple[str, Callable[[bytes], bytes]]] = [
    ("pretty-printed", lambda body: json.dumps(json.loads(body), indent=2).encode()),
    (
        "compact separators",
        lambda body: json.dumps(json.loads(body), separators=(",", ":")).encode(),
    ),
    ("trailing newline", lambda body: body + b"\n"),
    ("leading space", lambda body: b" " + body),
    (
        "keys reordered",
        lambda body: json.dumps(dict(reversed(list(json.loads(body).items())))).encode(),
    ),
]


@pytest.mark.parametrize("change", [c[1] for c in RESERIALIZED], ids=[c[0] for c in RESERIALIZED])
def test_14_body_changed_after_signing_is_refused(
    client: Any, signal_log: Any, change: Callable[[bytes], bytes]
) -> None:
    body = make_body(EVENTS)
    changed = change(body)
    assert changed != body and json.loads(changed) == json.loads(body)
    response = client.post(
        WEBHOOK_URL, data=changed, content_type="application/json", **signed_headers(body)
    )
    assert_rejected(response, 401)
    assert_nothing_happened(signal_log)


# --- 15: malformed bodies (correctly signed) --------------------------------------------------


def malformed_bodies(T: int) -> list[tuple[str, bytes]]:
    """Correctly signed but malformed bodies; ``T`` is now (valid time_ms)."""
    return [
        ("not JSON", b"time_ms=1&events=2"),
        ("truncated JSON", make_body(EVENTS)[:-3]),
        ("invalid UTF-8", b'{"time_ms": ' + str(T).encode() + b', "events": ["\xff\xfe"]}'),
        ("JSON array", json.dumps([{"time_ms": T, "events": []}]).encode()),
        ("JSON string", b'"hello"'),
        ("JSON null", b"null"),
        ("empty body", b""),
        ("events missing", json.dumps({"time_ms": T}).encode()),
        ("events an object", json.dumps({"time_ms": T, "events": {"name": "x"}}).encode()),
        ("events a string", json.dumps({"time_ms": T, "events": "member_added"}).encode()),
        ("events null", json.dumps({"time_ms": T, "events": None}).encode()),
        ("event not an object", json.dumps({"time_ms": T, "events": ["member_added"]}).encode()),
        ("event without name", json.dumps({"time_ms": T, "events": [{"channel": "a"}]}).encode()),
        ("event name empty", json.dumps({"time_ms": T, "events": [{"name": ""}]}).encode()),
        ("event name a number", json.dumps({"time_ms": T, "events": [{"name": 5}]}).encode()),
        (
            "one bad event in a good batch",
            json.dumps({"time_ms": T, "events": [*EVENTS, {"channel": "x"}]}).encode(),
        ),
        (
            "member_added without user_id",
            json.dumps(
                {"time_ms": T, "events": [{"name": "member_added", "channel": "p"}]}
            ).encode(),
        ),
        (
            "channel_occupied without channel",
            json.dumps({"time_ms": T, "events": [{"name": "channel_occupied"}]}).encode(),
        ),
        (
            "channel with NUL",
            json.dumps(
                {"time_ms": T, "events": [{"name": "channel_occupied", "channel": "a\x00"}]}
            ).encode(),
        ),
        (
            "channel too long",
            json.dumps(
                {"time_ms": T, "events": [{"name": "channel_occupied", "channel": "a" * 201}]}
            ).encode(),
        ),
        (
            "user_id with a lone surrogate",
            b'{"time_ms": %d, "events": [{"name": "member_added", "channel": "presence-a", '
            b'"user_id": "\\ud800"}]}' % T,
        ),
        (
            "negative subscription_count",
            json.dumps(
                {
                    "time_ms": T,
                    "events": [
                        {"name": "subscription_count", "channel": "a", "subscription_count": -1}
                    ],
                }
            ).encode(),
        ),
        (
            "deeply nested",
            b'{"time_ms": %d, "events": [' % T + b"[" * 100_000 + b"]" * 100_000 + b"]}",
        ),
    ]


@pytest.mark.parametrize("case", [c[0] for c in malformed_bodies(0)])
def test_15_malformed_body_is_400(client: Any, signal_log: Any, case: str) -> None:
    body = dict(malformed_bodies(now_ms()))[case]
    response = client.post(
        WEBHOOK_URL, data=body, content_type="application/json", **signed_headers(body)
    )
    assert_rejected(response, 400)
    assert_nothing_happened(signal_log)


# --- 16: replays ------------------------------------------------------------------------------


def test_16_same_body_twice_is_acknowledged_and_ignored(post_webhook: Any, signal_log: Any) -> None:
    t = now_ms()
    joined = make_body([{"name": "member_added", "channel": "presence-x", "user_id": "u1"}], t)
    left = make_body([{"name": "member_removed", "channel": "presence-x", "user_id": "u1"}], t)
    assert post_webhook(joined).status_code == 200
    assert post_webhook(left).status_code == 200
    assert state.online_users("presence-x") == []
    assert signal_log.names() == ["member_added", "member_removed"]

    # Same time_ms, so ordering alone would let it through: only the digest stops it.
    again = post_webhook(joined)
    assert again.status_code == 200
    assert again.json() == {"ok": True, "duplicate": True}
    assert state.online_users("presence-x") == []
    assert signal_log.names() == ["member_added", "member_removed"]
    outcomes = list(WebhookDelivery.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["accepted", "accepted", "duplicate"]


# --- 17: time_ms ------------------------------------------------------------------------------


def _body_with_time(raw_time: str) -> bytes:
    events = json.dumps(EVENTS)
    if raw_time == "<missing>":
        return b'{"events": ' + events.encode() + b"}"
    return b'{"time_ms": ' + raw_time.encode() + b', "events": ' + events.encode() + b"}"


# Raw JSON for time_ms, built when the test runs (the clock moves during the session).
TIME_CASES: list[tuple[str, Callable[[int], str]]] = [
    ("stale beyond tolerance", lambda now: str(now - 331_000)),
    ("an hour old", lambda now: str(now - 3_600_000)),
    ("far future", lambda now: str(now + 86_400_000)),
    ("future beyond tolerance", lambda now: str(now + 331_000)),
    ("NaN", lambda now: "NaN"),
    ("Infinity", lambda now: "Infinity"),
    ("-Infinity", lambda now: "-Infinity"),
    ("a string", lambda now: f'"{now}"'),
    ("true", lambda now: "true"),
    ("null", lambda now: "null"),
    ("a float", lambda now: f"{now}.5"),
    ("seconds not ms", lambda now: str(now // 1000)),
    ("huge", lambda now: "9" * 5000),
    ("an object", lambda now: '{"ms": 1}'),
    ("<missing>", lambda now: "<missing>"),
]


@pytest.mark.parametrize("raw_time", [c[1] for c in TIME_CASES], ids=[c[0] for c in TIME_CASES])
def test_17_bad_time_ms_is_rejected(
    client: Any, signal_log: Any, raw_time: Callable[[int], str]
) -> None:
    body = _body_with_time(raw_time(now_ms()))
    response = client.post(
        WEBHOOK_URL, data=body, content_type="application/json", **signed_headers(body)
    )
    assert_rejected(response, 400)
    assert_nothing_happened(signal_log)


@pytest.mark.parametrize("offset_s", [-300, -60, 0, 60, 300])
def test_17_time_within_tolerance_is_accepted(post_webhook: Any, offset_s: int) -> None:
    # Hosted Pusher retries for 5 minutes with the original time_ms: those must pass.
    assert post_webhook(EVENTS, time_ms=now_ms() + offset_s * 1000).status_code == 200


def test_17_tolerance_is_a_setting(post_webhook: Any, settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "WEBHOOK_TOLERANCE_SECONDS": 30}
    assert post_webhook(EVENTS, time_ms=now_ms() - 60_000).status_code == 400
    assert post_webhook(EVENTS, time_ms=now_ms() - 10_000).status_code == 200


# --- 18: secret rotation ----------------------------------------------------------------------


def test_18_rotation_accepts_both_secrets_then_only_the_new(
    post_webhook: Any, settings: Any, signal_log: Any
) -> None:
    base = settings.TOOLBOX_REALTIME
    settings.TOOLBOX_REALTIME = {**base, "WEBHOOK_SECRETS": ["old-secret-1111", "new-secret-2222"]}
    ev = [{"name": "cache_miss", "channel": "private-cache-a"}]
    assert post_webhook(ev, secret="old-secret-1111").status_code == 200
    assert post_webhook(ev, time_ms=now_ms() + 1, secret="new-secret-2222").status_code == 200
    # The app SECRET is not implied once WEBHOOK_SECRETS is set.
    assert post_webhook(ev, time_ms=now_ms() + 2, secret=SECRET).status_code == 401

    settings.TOOLBOX_REALTIME = {**base, "WEBHOOK_SECRETS": ["new-secret-2222"]}
    assert post_webhook(ev, time_ms=now_ms() + 3, secret="old-secret-1111").status_code == 401
    assert post_webhook(ev, time_ms=now_ms() + 4, secret="new-secret-2222").status_code == 200
    assert len(signal_log.of("cache_miss")) == 3


def test_18_secrets_per_key(post_webhook: Any, settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "WEBHOOK_SECRETS": {KEY: SECRET, "second-key": ["second-secret-1", "second-secret-2"]},
    }
    ev = [{"name": "cache_miss", "channel": "private-cache-a"}]
    assert post_webhook(ev, secret=SECRET).status_code == 200
    assert post_webhook(ev, secret="second-secret-2", key="second-key").status_code == 200
    # A secret is only good for its own key.
    assert (
        post_webhook(ev, time_ms=now_ms() + 5, secret=SECRET, key="second-key").status_code == 401
    )


# --- 19: unknown event names ------------------------------------------------------------------


def test_19_unknown_events_are_logged_and_skipped(
    post_webhook: Any, signal_log: Any, caplog: Any
) -> None:
    events = [
        {"name": "channel_occupied", "channel": "presence-y"},
        {"name": "some_future_event", "channel": "presence-y"},
        {"name": "member_added", "channel": "presence-y", "user_id": "9"},
        {"name": "pusher:internal_thing"},
    ]
    with caplog.at_level(logging.WARNING, logger="django_toolbox_realtime.webhooks"):
        response = post_webhook(events)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "processed": 2, "stale": 0, "skipped": 2}
    assert signal_log.names() == ["channel_occupied", "member_added"]
    assert state.online_users("presence-y") == ["9"]
    assert "some_future_event" in caplog.text and "pusher:internal_thing" in caplog.text
    row = WebhookDelivery.objects.get()
    assert row.outcome == "accepted" and "some_future_event" in row.detail


# --- 20: oversized bodies ---------------------------------------------------------------------


def test_20_oversized_body_is_413_before_parsing(
    client: Any, settings: Any, signal_log: Any, monkeypatch: Any
) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "WEBHOOK_MAX_BODY_BYTES": 1000}

    class NoParsing:
        @staticmethod
        def loads(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("an oversized body was parsed")

    monkeypatch.setattr("django_toolbox_realtime.bodies.json", NoParsing)
    events = [
        {"name": "client_event", "channel": "private-a", "event": "client-x", "data": "x" * 2000}
    ]
    body = make_body(events)
    response = client.post(
        WEBHOOK_URL, data=body, content_type="application/json", **signed_headers(body)
    )
    assert_rejected(response, 413)
    assert_nothing_happened(signal_log)


def test_20_default_cap_refuses_a_huge_body_without_reading_it(
    client: Any, signal_log: Any
) -> None:
    body = b"{" + b" " * (1_048_576 + 10) + b"}"
    response = client.post(WEBHOOK_URL, data=body, content_type="application/json")
    assert_rejected(response, 413)
    assert_nothing_happened(signal_log)


# --- SECURITY_CASES 30-32: nesting, Content-Length, repeated keys (issue 8, item 2) -------------


@pytest.fixture
def app_middleware_only(settings: Any) -> None:
    """Without the example project's own middleware (its Content-Length guard would
    answer first): the webhook view must hold in any project."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("example_project.")]


def _nested_data(depth: int) -> Any:
    """A client event's ``data`` holding ``depth`` nested lists."""
    data: Any = "x"
    for _ in range(depth):
        data = [data]
    return data


@pytest.mark.parametrize("depth", [40, 900])
def test_30_nesting_beyond_the_bound_is_400(client: Any, signal_log: Any, depth: int) -> None:
    """``{"events": [{"data": [[...]]}]}``: the body's own three levels plus ``depth``
    is beyond the documented bound of 32, whether or not Python could parse it."""
    event = {"name": "client_event", "channel": "private-a", "event": "client-x"}
    body = make_body([{**event, "data": _nested_data(depth)}])
    response = client.post(
        WEBHOOK_URL, data=body, content_type="application/json", **signed_headers(body)
    )
    assert_rejected(response, 400)
    assert "32" in response.json()["error"]
    assert_nothing_happened(signal_log)


def test_30_nesting_within_the_bound_is_accepted(post_webhook: Any) -> None:
    event = {"name": "client_event", "channel": "private-a", "event": "client-x"}
    response = post_webhook([{**event, "data": _nested_data(20)}])
    assert response.status_code == 200 and response.json()["processed"] == 1


def _repeated(T: int) -> list[tuple[str, bytes]]:
    member = '{"name": "member_added", "channel": "presence-a", "user_id": "7"}'
    return [
        ("time_ms twice", b'{"time_ms": %d, "time_ms": %d, "events": []}' % (T, T)),
        ("events twice", b'{"time_ms": %d, "events": [], "events": [%s]}' % (T, member.encode())),
        (
            "channel twice in an event",
            b'{"time_ms": %d, "events": [{"name": "channel_occupied", '
            b'"channel": "presence-a", "channel": "presence-b"}]}' % T,
        ),
        (
            "user_id twice in an event",
            b'{"time_ms": %d, "events": [{"name": "member_added", "channel": "presence-a", '
            b'"user_id": "7", "user_id": "8"}]}' % T,
        ),
        (
            "name twice in an event",
            b'{"time_ms": %d, "events": [{"name": "member_added", "name": "member_removed", '
            b'"channel": "presence-a", "user_id": "7"}]}' % T,
        ),
    ]


@pytest.mark.parametrize("case", [c[0] for c in _repeated(0)])
def test_32_a_repeated_key_is_400(client: Any, signal_log: Any, case: str) -> None:
    """Last-wins would let two JSON parsers (a proxy's, ours) read different events."""
    body = dict(_repeated(now_ms()))[case]
    response = client.post(
        WEBHOOK_URL, data=body, content_type="application/json", **signed_headers(body)
    )
    assert_rejected(response, 400)
    assert "twice" in response.json()["error"]
    assert_nothing_happened(signal_log)


@pytest.mark.parametrize(
    "content_length", ["abc", "-1", "-0", "+10", "1_0", " 10", "١٠", "1e2", "0x10", "9" * 5000]
)
def test_31_bad_content_length_is_400(
    app_middleware_only: None, client: Any, signal_log: Any, content_length: str
) -> None:
    body = make_body(EVENTS)
    response = client.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        CONTENT_LENGTH=content_length,
        **signed_headers(body),
    )
    assert_rejected(response, 400)
    assert "Content-Length" in response.json()["error"]
    assert_nothing_happened(signal_log)


def test_31_content_length_larger_than_the_body_is_400(
    app_middleware_only: None, client: Any, signal_log: Any
) -> None:
    """The body ends before its Content-Length (a client that half-closes): refused,
    even though what arrived is signed and complete JSON."""
    body = make_body(EVENTS)
    response = client.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        CONTENT_LENGTH=str(len(body) + 1),
        **{"wsgi.input": io.BytesIO(body)},  # ends where a socket would
        **signed_headers(body),
    )
    assert_rejected(response, 400)
    assert "Content-Length" in response.json()["error"]
    assert_nothing_happened(signal_log)


def test_31_the_exact_content_length_is_accepted(client: Any) -> None:
    body = make_body(EVENTS)
    response = client.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        CONTENT_LENGTH=str(len(body)),
        **signed_headers(body),
    )
    assert response.status_code == 200, response.content
