"""Hostile requests to the history endpoint (hypothesis): random query strings
(repeated, missing and invented parameters, bad percent escapes, ``after`` and
``limit`` that are not numbers, too many parameters, very long values), any
method, body and noise header, by every kind of login → never a 5xx, and a 200
only for a channel the user may read (the oracle: public, one's own
``#server-to-user-`` channel, else what subscribing allows). Clean queries
answer exactly as the oracle says."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import event as record_outcome
from hypothesis import given, note
from hypothesis import strategies as st

from tests.fuzz import strategies as fz
from tests.fuzz.conftest import fuzz
from tests.fuzz.oracle import SECRET
from tests.fuzz.world import LOGINS, World, resolve, valid_channel_name

pytestmark = pytest.mark.django_db
HISTORY_URL = "/api/v1/pusher/history"

history_channels = st.one_of(
    fz.likely_channels, st.sampled_from(["public-dashboard", "fz-public", "#server-to-user-"])
)
numbers = st.one_of(
    st.integers(0, 10**6).map(str),
    st.sampled_from(["", "-1", "+1", "1.5", "1e3", "٣", " 1", "0x1", "9" * 30, "9" * 5000]),
    fz.text,
)
pairs = st.lists(
    st.one_of(
        st.tuples(st.just("channel"), history_channels),
        st.tuples(st.sampled_from(["after", "limit"]), numbers),
        st.tuples(st.sampled_from(["x", "channel[]", "callback", "CHANNEL"]), fz.text),
    ),
    max_size=5,
)
raw_queries = st.sampled_from(
    [
        "%",
        "channel=%zz",
        "channel=%ff%fe",
        "channel=private-student%00",
        "&&&=&",
        "channel=public-a&" + "a=1&" * 1_001,  # beyond DATA_UPLOAD_MAX_NUMBER_FIELDS
        "channel=" + "x" * 10_000,
        "channel=public-a;after=1",
    ]
)


@st.composite
def queries(draw: Any) -> str:
    shape = draw(st.sampled_from(["raw", "one channel", "one channel", "random"]))
    if shape == "raw":
        return str(draw(raw_queries))
    if shape == "random":
        return urlencode(draw(pairs))
    extra = draw(st.lists(st.tuples(st.sampled_from(["after", "limit"]), numbers), max_size=2))
    return urlencode([("channel", draw(history_channels)), *extra])


def channel_read(query: str) -> str | None:
    """The one ``channel`` parameter of ``query``, decoded as Django does; None when
    it is missing or repeated."""
    values = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "channel"]
    return values[0] if len(values) == 1 else None


@fuzz(100)
@given(
    login=st.sampled_from(LOGINS),
    method=st.sampled_from(["GET"] * 12 + ["HEAD", "POST", "PUT", "DELETE", "OPTIONS"]),
    template=queries(),
    body=st.one_of(st.just(b""), st.just(b""), st.binary(max_size=50)),
    headers=st.one_of(st.just({}), fz.noise_headers),
)
def test_hostile_history_requests_never_5xx_nor_show_what_may_not_be_read(
    world: World, login: str, method: str, template: str, body: bytes, headers: dict[str, str]
) -> None:
    query = resolve(template, world.users)
    client, credentials = world.clients[login]
    response = fz.send(
        client, method, HISTORY_URL, body, fz.FORM, None, {**headers, **credentials}, query
    )
    note(f"answer: {response.status_code} {response.content[:300]!r}")
    record_outcome(f"HTTP {response.status_code}")
    assert response.status_code in (200, 400, 403, 405, 406), response.content[:500]
    assert SECRET.encode() not in response.content
    if method not in ("GET", "HEAD"):
        assert response.status_code != 200
    if response.status_code != 200:
        return
    channel = channel_read(query)
    assert channel is not None, f"answered 200 to {query[:200]!r}"
    assert world.may_read_history(login, channel), f"showed {channel!r} to {login}"
    if method == "GET":
        assert response.json()["channel"] == channel


@fuzz(80)
@given(
    login=st.sampled_from(LOGINS),
    template=history_channels,
    after=st.one_of(st.none(), st.integers(0, 10**9)),
)
def test_clean_history_requests_answer_exactly_as_the_oracle(
    world: World, login: str, template: str, after: int | None
) -> None:
    channel = resolve(template, world.users)
    params = {"channel": channel, **({} if after is None else {"after": after})}
    client, credentials = world.clients[login]
    response = client.get(HISTORY_URL, params, **credentials)
    note(f"answer: {response.status_code} {response.content[:300]!r}")
    record_outcome(f"HTTP {response.status_code}")
    user = world.user_of(login)
    prefix = "#server-to-user-"
    if valid_channel_name(channel) and not channel.startswith(("private-", "presence-")):
        expected = 200  # public: no login needed (a bad token is not even read)
    elif channel.startswith(prefix):
        rest = channel[len(prefix) :]
        if not (valid_channel_name(rest) and len(rest) <= 128):
            expected = 400
        else:
            expected = 200 if user is not None and rest == str(user.pk) else 403
    elif not valid_channel_name(channel):
        expected = 400
    else:
        expected = 200 if world.may_join(login, channel) else 403
    assert response.status_code == expected, response.content[:300]
    if expected == 200:
        assert response.json()["channel"] == channel
        assert response.json()["events"] == []
