"""Hostile webhooks (hypothesis): valid bodies, garbage, near-misses and bodies
up to and past ``WEBHOOK_MAX_BODY_BYTES``, each with a valid signature, none, or
a wrong, truncated, upper-case or foreign one; any method, content type,
Content-Length and noise header → never a 5xx; without a valid signature
nothing is stored; a valid signature over garbage is a 4xx; a valid signature
over a valid body of at most the limit is a 200."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import event as record_outcome
from hypothesis import given, note
from hypothesis import strategies as st

from django_toolbox_realtime.conf import realtime_settings
from django_toolbox_realtime.models import ChannelState, PresenceMember, WebhookDelivery
from tests.fuzz import strategies as fz
from tests.fuzz.conftest import fuzz
from tests.fuzz.oracle import KEY, SECRET
from tests.fuzz.world import World
from tests.helpers import sign

pytestmark = pytest.mark.django_db
WEBHOOK_URL = "/api/v1/pusher/webhook"
TIME = "@TIME@"  # "@TIME@" (quoted) becomes the time of sending: a drawn body would go stale


def stamp(body: bytes) -> bytes:
    return body.replace(b'"@TIME@"', str(int(time.time() * 1000)).encode())

valid_event = st.one_of(
    st.builds(
        lambda name, ch, user: {"name": name, "channel": f"presence-fz-{ch}", "user_id": user},
        st.sampled_from(["member_added", "member_removed"]),
        st.integers(0, 3),
        st.sampled_from(["1", "2", "u-3"]),
    ),
    st.builds(
        lambda name, ch: {"name": name, "channel": f"private-fz-{ch}"},
        st.sampled_from(["channel_occupied", "channel_vacated"]),
        st.integers(0, 3),
    ),
    st.builds(
        lambda ch, n: {"name": "subscription_count", "channel": ch, "subscription_count": n},
        st.sampled_from(["fz-public", "private-fz-1"]),
        st.integers(0, 1000),
    ),
    st.just({"name": "some_future_event", "channel": "private-fz-1"}),  # skipped, not refused
)
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), fz.text)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(fz.text, inner, max_size=3),
    max_leaves=8,
)


def valid_body(events: list[dict[str, Any]], pad: int = 0) -> bytes:
    body = json.dumps({"time_ms": TIME, "events": events})
    if pad:
        body = body[:-1] + ', "pad": "' + "a" * pad + '"}'
    return body.encode()


@st.composite
def bodies(draw: Any) -> tuple[str, bytes]:
    """(kind, body). ``valid`` bodies pass every check when signed; ``garbage``
    never does; ``random`` may or may not."""
    kind = draw(st.sampled_from(["valid", "valid", "large", "garbage", "random"]))
    events = draw(st.lists(valid_event, max_size=6))
    if kind == "valid":
        return "valid", valid_body(events)
    if kind == "large":  # around the limit: exactly at it is fine, one byte more is not
        limit = int(realtime_settings.WEBHOOK_MAX_BODY_BYTES)
        bare = len(stamp(valid_body(events, pad=1))) - 1
        target = draw(st.sampled_from([limit - 1, limit, limit + 1, 2 * limit]))
        body = valid_body(events, pad=max(1, target - bare))
        return ("valid" if target <= limit else "too large"), body
    if kind == "random":
        top = draw(st.dictionaries(fz.text, json_value, max_size=3))
        top.update(
            draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "time_ms": st.one_of(st.just(TIME), json_leaf),
                        "events": st.one_of(
                            st.lists(st.one_of(valid_event, json_value), max_size=4), json_value
                        ),
                    },
                )
            )
        )
        return "random", json.dumps(top).encode()
    good = valid_body(events)
    garbage = draw(
        st.one_of(
            st.binary(max_size=300),
            json_value.filter(lambda v: not isinstance(v, dict)).map(lambda v: json.dumps(v)),
            st.just(good.decode().encode("utf-16")),
            st.just(b"\xef\xbb\xbf" + good),
            st.just(good.replace(b'"events"', b'"time_ms": 1, "events"', 1)),  # repeated key
            st.just(good.replace(b'"@TIME@"', b"NaN")),
            st.just(good.replace(b'"@TIME@"', b"1")),  # far too old
            st.just(good.replace(b'"@TIME@"', b'"' + b"9" * 5000 + b'"')),
            st.integers(33, 5000).map(
                lambda d: b'{"time_ms": "@TIME@", "events": ' + b"[" * d + b"]" * d + b"}"
            ),
            st.just(b'{"time_ms": "@TIME@", "events": [{"channel": "private-a"}]}'),
        )
    )
    return "garbage", garbage if isinstance(garbage, bytes) else garbage.encode()


signatures = st.sampled_from(
    ["valid", "valid", "valid", "none", "wrong", "upper", "truncated", "foreign key", "no key"]
)


def signed_headers(how: str, body: bytes) -> dict[str, str]:
    good = sign(SECRET, body)
    key, signature = {
        "valid": (KEY, good),
        "none": (None, None),
        "wrong": (KEY, sign("not-the-secret", body)),
        "upper": (KEY, good.upper()),
        "truncated": (KEY, good[:-2]),
        "foreign key": ("someone-else", good),
        "no key": (None, good),
    }[how]
    headers = {}
    if key is not None:
        headers["HTTP_X_PUSHER_KEY"] = key
    if signature is not None:
        headers["HTTP_X_PUSHER_SIGNATURE"] = signature
    return headers


def stored() -> tuple[Any, ...]:
    """The live state and the newest accepted delivery. (Pruning, which any
    delivery may trigger, deletes only ended rows: they are left out.)"""
    channels = ChannelState.objects.filter(occupied=True).values_list(
        "name", "subscription_count", "last_time_ms"
    )
    members = PresenceMember.objects.filter(left_at__isnull=True).values_list(
        "channel", "user_id", "last_time_ms"
    )
    accepted = WebhookDelivery.objects.filter(outcome=WebhookDelivery.Outcome.ACCEPTED)
    newest = accepted.order_by("-pk").values_list("pk", flat=True).first()
    return sorted(channels), sorted(members), newest


@fuzz(120)
@given(
    kind_and_body=bodies(),
    how=signatures,
    method=fz.methods,
    content_type=st.one_of(st.just(fz.JSON), st.just(fz.JSON), fz.content_types(fz.JSON)),
    content_length=st.one_of(st.none(), st.none(), st.none(), fz.content_lengths),
    headers=st.one_of(st.just({}), fz.noise_headers),
)
def test_hostile_webhooks_never_5xx_and_change_nothing_unless_signed(
    world: World,
    kind_and_body: tuple[str, bytes],
    how: str,
    method: str,
    content_type: str,
    content_length: int | str | None,
    headers: dict[str, str],
) -> None:
    kind, body = kind_and_body
    body = stamp(body)
    declared = fz.declared_length(body, content_length)
    read = fz.effective(body, declared)  # what the server reads: what the sender signs
    before = stored()
    client = world.clients["anonymous"][0]
    headers = {**headers, **signed_headers(how, read)}
    response = fz.send(client, method, WEBHOOK_URL, body, content_type, declared, headers)
    note(f"{kind}, {how}: {response.status_code} {response.content[:300]!r}")
    record_outcome(f"{kind} {how}: HTTP {response.status_code}")
    assert response.status_code in (200, 400, 401, 405, 413), response.content[:500]
    assert SECRET.encode() not in response.content
    if method != "POST":  # 405; 400 when the project's guard refuses the Content-Length
        assert response.status_code in (400, 405)
    if response.status_code != 200:
        assert stored() == before, "state changed by a refused webhook"
        return
    assert how == "valid" and method == "POST", "accepted without a valid signature"
    assert kind not in ("garbage", "too large"), f"accepted a signed {kind} body"
    assert response.json()["ok"] is True


@fuzz(60)
@given(events=st.lists(valid_event, max_size=6), pad=st.sampled_from([0, 0, 1000, 500_000]))
def test_signed_valid_webhooks_are_accepted(
    world: World, events: list[dict[str, Any]], pad: int
) -> None:
    """The other side of the fuzzing above: a signed, fresh, well-formed body (any
    known events, unknown ones skipped) within the size limit is a 200."""
    body = stamp(valid_body(events, pad))
    client = world.clients["anonymous"][0]
    response = client.post(
        WEBHOOK_URL, body, content_type=fz.JSON, **signed_headers("valid", body)
    )
    assert response.status_code == 200, response.content[:300]
    assert response.json()["ok"] is True
