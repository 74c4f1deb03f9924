"""Hostile requests to the batch-auth endpoint (hypothesis): JSON and the three
form spellings of the list (``channel_name``, ``channel_name[]``,
``channel_name[0]``), repeated and non-string names, lists past
``AUTH_BATCH_MAX``, and the body, content-type, Content-Length, method and
header noise of the single endpoint's fuzzing → never a 5xx, never a signature
the oracle does not allow; each channel of a clean batch answered exactly as
the oracle says, on its own (SECURITY_CASES 37)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import event as record_outcome
from hypothesis import given, note
from hypothesis import strategies as st

from django_toolbox_realtime.authorization.browser_options import batch_max
from tests.fuzz import strategies as fz
from tests.fuzz.conftest import fuzz
from tests.fuzz.oracle import SECRET, Unparsable, check_channel_answer, read_fields
from tests.fuzz.world import (
    LOGINS,
    World,
    resolve,
    resolve_bytes,
    valid_channel_name,
    valid_socket_id,
)

pytestmark = pytest.mark.django_db
BATCH_URL = "/api/v1/pusher/auth/batch"
FORBIDDEN = {"status": 403, "error": "Forbidden"}
SPELLINGS = ("json", "channel_name", "channel_name[]", "channel_name[i]")

names = st.lists(fz.likely_channels, max_size=8, unique=True)
long_names = st.integers(45, 60).map(lambda n: [f"private-n{i}" for i in range(n)])


def encode_batch(spelling: str, socket_id: Any, channels: list[Any]) -> tuple[bytes, str]:
    """A batch body in one of the spellings the endpoint accepts."""
    if spelling == "json":
        return json.dumps({"socket_id": socket_id, "channels": channels}).encode(), fz.JSON
    if spelling == "channel_name[i]":
        pairs = [(f"channel_name[{i}]", c) for i, c in enumerate(channels)]
    else:
        pairs = [(spelling, c) for c in channels]
    return urlencode([("socket_id", socket_id), *pairs]).encode(), fz.FORM


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    hostile = draw(st.sets(st.sampled_from(["list", "body", "content type", "length", "more"])))
    socket_id = draw(fz.likely_socket_ids)
    channels: list[Any] = draw(st.one_of(names, long_names) if "list" in hostile else names)
    if "list" in hostile and channels and draw(st.booleans()):  # a repeat or a non-string
        channels = [*channels, draw(st.one_of(st.sampled_from(channels), fz.non_strings))]
    spelling = draw(st.sampled_from(SPELLINGS))
    body, written_for = encode_batch(spelling, socket_id, channels)
    if "body" in hostile:
        fields = {"socket_id": socket_id, "channels": channels}
        body, written_for = draw(fz.form_or_json_bodies(st.just(fields)))
    return {
        "login": draw(st.sampled_from(LOGINS)),
        "method": draw(fz.methods) if "more" in hostile else "POST",
        "body": body,
        "content_type": (
            draw(fz.content_types(written_for)) if "content type" in hostile else written_for
        ),
        "content_length": draw(fz.content_lengths) if "length" in hostile else None,
        "headers": draw(fz.noise_headers) if "more" in hostile else {},
    }


def socket_id_read(body: bytes, content_type: str) -> Any:
    """The one socket_id of a body, read independently of the app."""
    if content_type.partition(";")[0].strip().lower() == fz.JSON:
        return read_fields(body, content_type).get("socket_id")
    values = [v for k, v in parse_qsl(body.decode(), keep_blank_values=True) if k == "socket_id"]
    if len(values) != 1:
        raise Unparsable(f"{len(values)} socket ids")
    return values[0]


@fuzz(100)
@given(request=requests())
def test_hostile_batches_never_5xx_nor_sign_beyond_the_oracle(
    world: World, request: dict[str, Any]
) -> None:
    login = request["login"]
    body = resolve_bytes(request["body"], world.users)
    declared = fz.declared_length(body, request["content_length"])
    client, credentials = world.clients[login]
    headers = {**request["headers"], **credentials}
    response = fz.send(
        client, request["method"], BATCH_URL, body, request["content_type"], declared, headers
    )
    note(f"answer: {response.status_code} {response.content[:300]!r}")
    record_outcome(f"HTTP {response.status_code}")
    assert response.status_code in (200, 400, 403, 405, 406, 415), response.content[:500]
    assert SECRET.encode() not in response.content
    if request["method"] != "POST":
        assert response.status_code != 200
    if response.status_code != 200:
        if request["method"] != "HEAD":
            assert "auth" not in response.json() and "channels" not in response.json()
        return
    try:
        socket_id = socket_id_read(fz.effective(body, declared), request["content_type"])
    except Unparsable as exc:
        raise AssertionError(f"answered a body that is not one clean form/JSON: {exc}") from exc
    answers = response.json()["channels"]
    assert 1 <= len(answers) <= batch_max()
    for name, answer in answers.items():
        if "auth" in answer:
            check_channel_answer(world, login, socket_id, name, answer)
        else:
            assert answer["status"] in (400, 403), answer


@fuzz(80)
@given(
    login=st.sampled_from(LOGINS),
    socket_id=fz.likely_socket_ids,
    templates=st.one_of(names, names, long_names),
    spelling=st.sampled_from(SPELLINGS),
)
def test_clean_batches_answer_each_channel_as_the_oracle(
    world: World, login: str, socket_id: str, templates: list[str], spelling: str
) -> None:
    """403 without a login; 400 for the whole request for a bad socket id, no
    channel or too many; else every channel on its own: signed exactly when the
    oracle allows, 400 when malformed, the one refusal otherwise."""
    channels = list(dict.fromkeys(resolve(t, world.users) for t in templates))
    body, content_type = encode_batch(spelling, socket_id, channels)
    client, credentials = world.clients[login]
    response = client.post(BATCH_URL, body, content_type=content_type, **credentials)
    note(f"answer: {response.status_code} {response.content[:300]!r}")
    record_outcome(f"HTTP {response.status_code}")
    if world.user_of(login) is None:
        expected = 403
    elif not valid_socket_id(socket_id) or not 1 <= len(channels) <= batch_max():
        expected = 400
    else:
        expected = 200
    assert response.status_code == expected, response.content[:300]
    if expected != 200:
        assert "auth" not in response.json() and "channels" not in response.json()
        return
    answers = response.json()["channels"]
    assert list(answers) == channels  # every channel answered, in order
    for name, answer in answers.items():
        if not valid_channel_name(name):
            assert answer["status"] == 400 and "auth" not in answer
        elif world.may_join(login, name):
            check_channel_answer(world, login, socket_id, name, answer)
        else:
            assert answer == FORBIDDEN


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_known_channel_in_one_batch_for_every_login(world: World, spelling: str) -> None:
    """The whole hand-written table in one batch, by every login."""
    channels = sorted(world.known)
    for login in LOGINS:
        client, credentials = world.clients[login]
        body, content_type = encode_batch(spelling, "123.456", channels)
        response = client.post(BATCH_URL, body, content_type=content_type, **credentials)
        if world.user_of(login) is None:
            assert response.status_code == 403 and "channels" not in response.json(), login
            continue
        answers = response.json()["channels"]
        assert list(answers) == channels
        for name, answer in answers.items():
            if world.may_join(login, name):
                check_channel_answer(world, login, "123.456", name, answer)
            else:
                assert "auth" not in answer and answer["status"] in (400, 403), (login, name)
