"""Random bodies and headers never produce a 5xx (hypothesis).

Half the examples carry a valid signature, so the fuzzing reaches the JSON and
event validation and the state code, not only the signature check. Bodies nest
around the JSON bound and far beyond it, repeat keys, and come with Content-Length
values that lie (not a number, negative, shorter or longer than the body).
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, note, settings
from hypothesis import event as record_outcome
from hypothesis import strategies as st

from django_toolbox_realtime.webhooks.verification import KNOWN_EVENTS
from tests.helpers import sign
from tests.webhooks.conftest import WEBHOOK_URL, now_ms

pytestmark = pytest.mark.django_db

EVENT_NAMES = [*sorted(KNOWN_EVENTS), "unknown_thing"]
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
field_value = st.one_of(
    st.text(max_size=220),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.none(),
    st.booleans(),
    json_value,
)
event = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(EVENT_NAMES), st.text(max_size=10), json_leaf)},
    optional={
        "channel": st.one_of(st.sampled_from(["presence-a", "private-b", "c"]), field_value),
        "user_id": st.one_of(st.sampled_from(["1", "2"]), field_value),
        "subscription_count": field_value,
        "event": field_value,
        "data": json_value,
        "socket_id": field_value,
    },
)
# Plausible events (mostly valid), so that many bodies reach the state code.
plausible_event = st.fixed_dictionaries(
    {
        "name": st.sampled_from(EVENT_NAMES),
        "channel": st.one_of(
            st.sampled_from(["presence-a", "presence-b", "private-c", "#server-to-user-1"]),
            st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=12),
        ),
        "user_id": st.one_of(
            st.sampled_from(["1", "2", "3"]), st.text(max_size=6), st.integers(0, 10)
        ),
        "subscription_count": st.integers(-1, 10),
        "event": st.sampled_from(["client-x", "client-y"]),
        "data": st.text(max_size=10),
    }
)
# None is replaced by "now"; listed three times to make valid times common.
time_value = st.one_of(
    st.none(),
    st.none(),
    st.none(),
    st.integers(),
    st.floats(),
    st.text(max_size=15),
    st.booleans(),
)
structured_body = st.builds(
    lambda t, events, extra: json.dumps(
        {**extra, "time_ms": now_ms() if t is None else t, "events": events}
    ).encode(),
    time_value,
    st.one_of(
        st.lists(plausible_event, max_size=6),
        st.lists(plausible_event, max_size=6),
        st.lists(event, max_size=6),
        json_value,
    ),
    st.dictionaries(st.text(max_size=6), json_value, max_size=2),
)


@st.composite
def deep_body(draw: Any) -> bytes:
    """A webhook whose client event's data nests around the bound (32) or far
    beyond Python's own limit."""
    depth = draw(st.one_of(st.integers(25, 40), st.integers(900, 5_000)))
    data = "[" * depth + "1" + "]" * depth
    event = '{"name": "client_event", "channel": "private-a", "event": "client-x", "data": '
    return b'{"time_ms": %d, "events": [%s%s}]}' % (now_ms(), event.encode(), data.encode())


@st.composite
def repeated_key_body(draw: Any) -> bytes:
    """A plausible body with one key written twice (by hand: json.dumps cannot)."""
    key = draw(st.sampled_from(["time_ms", "events", "name", "channel", "user_id"]))
    event = '{"name": "member_added", "channel": "presence-a", "user_id": "1"}'
    body = f'{{"time_ms": {now_ms()}, "events": [{event}]}}'
    value = json.dumps(
        draw(st.one_of(st.sampled_from(["presence-b", "2", "member_removed"]), json_leaf))
    )
    at = body.index(f'"{key}"')
    return (body[:at] + f'"{key}": {value}, ' + body[at:]).encode()


raw_body = st.one_of(
    st.binary(max_size=300),
    structured_body,
    structured_body,
    json_value.map(lambda v: json.dumps(v).encode()),
    deep_body(),
    repeated_key_body(),
)
content_length = st.one_of(
    st.none(),  # the true length
    st.none(),
    st.integers(-3, 3),  # added to the true length: shorter, or longer than the body
    st.sampled_from(["", "abc", "-1", "+5", "1_0", " 5", "٥", "9" * 5000, "1e3"]),
)
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=raw_body,
    signed=st.booleans(),
    key=st.one_of(st.none(), header_text),
    signature=st.one_of(st.none(), header_text),
    content_type=header_text,
    declared=content_length,
)
def test_random_webhooks_never_5xx(
    client: Any,
    settings_without_project_middleware: None,
    body: bytes,
    signed: bool,
    key: str | None,
    signature: str | None,
    content_type: str,
    declared: int | str | None,
) -> None:
    # The body ends where its bytes end, as on a socket: a longer Content-Length too.
    headers: dict[str, Any] = {"wsgi.input": io.BytesIO(body)}
    if declared is not None:
        headers["CONTENT_LENGTH"] = (
            str(len(body) + declared) if isinstance(declared, int) else declared
        )
    if signed:
        headers["HTTP_X_PUSHER_KEY"] = django_settings.TEST_KEY
        headers["HTTP_X_PUSHER_SIGNATURE"] = sign(django_settings.TEST_SECRET, body)
    else:
        if key is not None:
            headers["HTTP_X_PUSHER_KEY"] = key
        if signature is not None:
            headers["HTTP_X_PUSHER_SIGNATURE"] = signature
    response = client.post(WEBHOOK_URL, data=body, content_type=content_type or "x/y", **headers)
    note(f"answer: {response.status_code} {response.content[:200]!r}")
    record_outcome(f"HTTP {response.status_code}")
    assert response.status_code < 500, response.content
    assert response.status_code in (200, 400, 401, 413)
    assert django_settings.TEST_SECRET not in response.content.decode()


@pytest.fixture
def settings_without_project_middleware(settings: Any) -> None:
    """The webhook view behind Django's middleware only (the example project's
    Content-Length guard would answer first): it must hold in any project."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("example_project.")]


_channel_numbers = iter(range(10**9))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["member_added", "member_removed"]),
            st.sampled_from(["1", "2", "3"]),
            st.integers(-50, 50),
        ),
        max_size=15,
    )
)
def test_any_arrival_order_ends_in_the_newest_state(
    post_webhook: Any, deliveries: list[tuple[str, str, int]]
) -> None:
    """Whatever order webhooks arrive in, each member ends as its newest event says
    (equal times: the later arrival wins; a repeated body changes nothing)."""
    from django_toolbox_realtime import state

    channel = f"presence-order-{next(_channel_numbers)}"
    t0 = now_ms()
    newest: dict[str, tuple[int, str]] = {}
    seen: set[tuple[str, str, int]] = set()
    for name, user, offset in deliveries:
        response = post_webhook(
            [{"name": name, "channel": channel, "user_id": user}], time_ms=t0 + offset
        )
        assert response.status_code == 200
        if (name, user, offset) in seen:  # the very same body again: a no-op
            assert response.json()["duplicate"] is True
            continue
        seen.add((name, user, offset))
        if user not in newest or offset >= newest[user][0]:
            newest[user] = (offset, name)
    expected = sorted(u for u, (_, name) in newest.items() if name == "member_added")
    assert state.online_users(channel) == expected
