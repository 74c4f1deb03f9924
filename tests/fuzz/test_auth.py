"""Hostile requests to the auth and user-auth endpoints (hypothesis): any method,
body, content type and charset, Content-Length, size up to and past Django's
body limits, and noise headers, by every kind of login → never a 5xx, never a
signature the oracle (``world.py``) does not allow. Clean requests answer
exactly as the oracle says (200 / 403 / 400)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import event as record_outcome
from hypothesis import given, note
from hypothesis import strategies as st

from tests.fuzz import strategies as fz
from tests.fuzz.conftest import fuzz
from tests.fuzz.oracle import (
    SECRET,
    Unparsable,
    check_channel_answer,
    check_user_answer,
    read_fields,
)
from tests.fuzz.world import (
    LOGINS,
    World,
    resolve,
    resolve_bytes,
    valid_channel_name,
    valid_socket_id,
)
from tests.helpers import AUTH_URL, USER_AUTH_URL

pytestmark = pytest.mark.django_db
DENIED = {"error": "forbidden", "detail": "You may not subscribe to this channel."}

fields = st.fixed_dictionaries(
    {"socket_id": fz.likely_socket_ids, "channel_name": fz.likely_channels},
    optional={
        "channel_data": fz.text,  # case 7: never read
        "user_id": fz.text,
        "user_info": st.just('{"name": "root"}'),
        "extra": fz.text,
    },
)


#: What a hostile request may change from a clean one; each example changes a
#: random subset (often none or one), so that many still reach a decision.
HOSTILE = ("body", "content type", "content length", "method", "headers")


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    hostile = draw(st.sets(st.sampled_from(HOSTILE)))
    data = draw(fields)
    if "body" in hostile:
        body, written_for = draw(fz.form_or_json_bodies(st.just(data)))
    else:
        as_json = draw(st.booleans())
        body = (json.dumps(data) if as_json else urlencode(data)).encode()
        written_for = fz.JSON if as_json else fz.FORM
    return {
        "url": draw(st.sampled_from([AUTH_URL, AUTH_URL + "/", USER_AUTH_URL])),
        "login": draw(st.sampled_from(LOGINS)),
        "method": draw(fz.methods) if "method" in hostile else "POST",
        "body": body,
        "content_type": (
            draw(fz.content_types(written_for)) if "content type" in hostile else written_for
        ),
        "content_length": draw(fz.content_lengths) if "content length" in hostile else None,
        "headers": draw(fz.noise_headers) if "headers" in hostile else {},
    }


@fuzz(100)
@given(request=requests())
def test_hostile_auth_requests_never_5xx_nor_sign_beyond_the_oracle(
    world: World, request: dict[str, Any]
) -> None:
    login, url = request["login"], request["url"]
    body = resolve_bytes(request["body"], world.users)
    declared = fz.declared_length(body, request["content_length"])
    client, credentials = world.clients[login]
    headers = {**request["headers"], **credentials}
    response = fz.send(
        client, request["method"], url, body, request["content_type"], declared, headers
    )
    note(f"answer: {response.status_code} {response.content[:300]!r}")
    record_outcome(f"HTTP {response.status_code}")
    assert response.status_code in (200, 400, 403, 405, 406, 415), response.content[:500]
    assert SECRET.encode() not in response.content
    # Not POST: 405, unless an earlier step refuses first (DRF reads the body, the
    # Accept header and the credentials before it looks at the method).
    if request["method"] != "POST":
        assert response.status_code != 200
        if request["method"] == "HEAD":
            return
    assert response["Content-Type"] == "application/json"
    answer = response.json()
    if response.status_code != 200:
        assert "auth" not in answer
        return
    try:
        sent = read_fields(fz.effective(body, declared), request["content_type"])
    except Unparsable as exc:
        raise AssertionError(f"signed a body that is not one clean form/JSON: {exc}") from exc
    if url == USER_AUTH_URL:
        check_user_answer(world, login, sent.get("socket_id"), answer)
    else:
        check_channel_answer(world, login, sent.get("socket_id"), sent["channel_name"], answer)


@fuzz(80)
@given(
    url=st.sampled_from([AUTH_URL, USER_AUTH_URL]),
    login=st.sampled_from(LOGINS),
    socket_id=fz.likely_socket_ids,
    template=fz.channels,
    as_json=st.booleans(),
)
def test_clean_requests_answer_exactly_as_the_oracle(
    world: World, url: str, login: str, socket_id: str, template: str, as_json: bool
) -> None:
    """Well-formed bodies, honest headers: 403 for no login, 400 for a malformed
    socket id or channel name, else 200 with the right signature exactly when the
    oracle allows, and the one denial body otherwise."""
    channel = resolve(template, world.users)
    data = {"socket_id": socket_id, "channel_name": channel}
    body = json.dumps(data) if as_json else urlencode(data)
    client, credentials = world.clients[login]
    response = client.post(
        url, body, content_type=fz.JSON if as_json else fz.FORM, **credentials
    )
    note(f"answer: {response.status_code} {response.content[:300]!r}")
    record_outcome(f"HTTP {response.status_code}")
    answer = response.json()
    if world.user_of(login) is None:
        expected = 403
    elif not valid_socket_id(socket_id) or (url == AUTH_URL and not valid_channel_name(channel)):
        expected = 400  # '#server-to-user-' too: '#' is no channel character
    elif url == USER_AUTH_URL or world.may_join(login, channel):
        expected = 200
    else:
        expected = 403
    assert response.status_code == expected, answer
    if expected != 200:
        assert "auth" not in answer
        if expected == 403 and world.user_of(login) is not None:
            assert answer == DENIED  # one body for every refusal (case 6)
    elif url == USER_AUTH_URL:
        check_user_answer(world, login, socket_id, answer)
    else:
        check_channel_answer(world, login, socket_id, channel, answer)


@pytest.mark.parametrize("url", [AUTH_URL, USER_AUTH_URL])
def test_every_known_channel_for_every_login(world: World, url: str) -> None:
    """The whole hand-written table, by every login: signed exactly where it says."""
    for login in LOGINS:
        client, credentials = world.clients[login]
        for channel, names in world.known.items():
            data = {"socket_id": "123.456", "channel_name": channel}
            response = client.post(url, urlencode(data), content_type=fz.FORM, **credentials)
            answer = response.json()
            user = world.user_of(login)
            if user is None:
                assert response.status_code == 403 and "auth" not in answer, (login, channel)
            elif url == USER_AUTH_URL:
                check_user_answer(world, login, "123.456", answer)
            elif user.username in names:
                check_channel_answer(world, login, "123.456", channel, answer)
            else:
                expected = 403 if valid_channel_name(channel) else 400
                assert response.status_code == expected and "auth" not in answer, (login, channel)
