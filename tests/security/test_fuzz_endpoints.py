"""Random requests to the auth and user-auth endpoints (hypothesis): bodies,
content types, Content-Length values (lying ones too) and nesting thousands of
levels deep → never a 5xx, and never a signature for a channel the user may not
join. The body arrives through a stream that ends where its bytes end, as a
socket would, so a Content-Length larger than the body is tried too.

Run behind Django's middleware only (see conftest.py): the app's views must hold
in a project that adds no guard of its own.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.test import Client
from hypothesis import HealthCheck, given, note, settings
from hypothesis import event as record_outcome
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from django_toolbox_realtime.models import ChannelPolicy
from example_project.classroom.models import Classroom
from tests.helpers import AUTH_URL, USER_AUTH_URL, channel_auth, sign

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_project_middleware")]

KEY, SECRET = django_settings.TEST_KEY, django_settings.TEST_SECRET
#: What the student may join; any other channel must never be signed.
MAY_JOIN = {"private-student", "presence-classroom-101"}
CHANNELS = [
    *sorted(MAY_JOIN),
    "private-admin",
    "private-teacher",
    "presence-classroom-102",
    "presence-classroom-999",
    "presence-classroom-101-x",
    "public-dashboard",
    "#server-to-user-1",
    "private-encrypted-x",
]
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.fixture
def clients(db: Any) -> dict[str, tuple[Client, dict[str, str]]]:
    """The student by Bearer and Token keyword and by session (with its CSRF
    token), an anonymous browser; the channel table of the scenario."""
    student = User.objects.create_user("stu", password="pw-12345", first_name="Sam")
    student.groups.add(Group.objects.get_or_create(name="student")[0])
    for channel, role in [
        ("private-admin", "admin"),
        ("private-teacher", "teacher"),
        ("private-student", "student"),
        ("presence-classroom-{id}", "student"),
    ]:
        ChannelPolicy.objects.create(channel=channel, min_role=role)
    Classroom.objects.create(pk=101, name="101").students.add(student)
    Classroom.objects.create(pk=102, name="not mine")
    key = Token.objects.create(user=student).key
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(student)
    browser.get("/admin/login/")  # sets the CSRF cookie
    return {
        "bearer": (Client(), {"HTTP_AUTHORIZATION": f"Bearer {key}"}),
        "token": (Client(), {"HTTP_AUTHORIZATION": f"token {key}"}),
        "session": (browser, {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}),
        "anonymous": (Client(enforce_csrf_checks=True), {}),
    }


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
socket_ids = st.one_of(
    st.from_regex(r"\A[0-9]{1,20}\.[0-9]{1,20}\Z"),
    st.from_regex(r"\A[0-9]{1,30}\.[0-9]{1,30}\Z"),
    _text,
)
channels = st.one_of(st.sampled_from(CHANNELS), _text)
fields = st.fixed_dictionaries(
    {"socket_id": socket_ids, "channel_name": channels},
    optional={"channel_data": _text, "user_id": _text, "extra": _text},
)


@st.composite
def bodies(draw: Any) -> tuple[bytes, str]:
    """(body, the content type it is written for)."""
    kind = draw(st.sampled_from(["form", "form dup", "json", "json dup", "json deep", "bytes"]))
    data = draw(fields)
    if kind == "form":
        return urlencode(data).encode(), FORM
    if kind == "form dup":  # a repeated field
        pairs = [*data.items(), (draw(st.sampled_from(sorted(data))), draw(_text))]
        return urlencode(pairs).encode(), FORM
    if kind == "json":
        value: Any = draw(st.one_of(st.just(data), st.lists(st.just(data), max_size=2)))
        return json.dumps(value).encode(), JSON
    if kind == "json dup":  # the same key twice, written by hand
        key = draw(st.sampled_from(sorted(data)))
        text = json.dumps(data)[:-1] + f", {json.dumps(key)}: {json.dumps(draw(_text))}}}"
        return text.encode(), JSON
    if kind == "json deep":  # nesting around the bound and far beyond it
        depth = draw(st.one_of(st.integers(0, 40), st.integers(40, 5_000)))
        where = draw(st.sampled_from(["extra", "socket_id"]))
        inner = "[" * depth + "1" + "]" * depth
        data = {k: v for k, v in data.items() if k != where}
        return (json.dumps(data)[:-1] + f', "{where}": {inner}}}').encode(), JSON
    return draw(st.binary(max_size=200)), draw(st.sampled_from([FORM, JSON]))


content_types = st.one_of(
    st.none(),  # the one the body is written for
    st.sampled_from([FORM, JSON, "application/json; charset=utf-8", "text/plain", ""]),
    st.sampled_from(["multipart/form-data; boundary=x", "application/x-www-form-urlencoded;x"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)
content_lengths = st.one_of(
    st.none(),  # the true length
    st.none(),
    st.integers(-3, 3),  # added to the true length: shorter, or longer than the body
    st.sampled_from(["", "abc", "-1", "+5", "1_0", " 5", "٥", "9" * 5000, "1e3", "0x10"]),
    st.text(max_size=8),
)


def effective_body(body: bytes, declared: str | None) -> bytes:
    """What a server reads: the declared number of bytes when it is a number."""
    if declared is not None and re.fullmatch(r"[0-9]{1,18}", declared):
        return body[: int(declared)]
    return body


def signed_fields(body: bytes, content_type: str) -> dict[str, str]:
    """The fields of a body the app accepted, parsed here independently of the app."""
    if content_type.partition(";")[0].strip().lower() == JSON:
        return json.loads(body)
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    url=st.sampled_from([AUTH_URL, AUTH_URL + "/", USER_AUTH_URL]),
    login=st.sampled_from(["bearer", "token", "session", "anonymous"]),
    body_and_type=bodies(),
    content_type=content_types,
    content_length=content_lengths,
)
def test_random_auth_requests_never_5xx_nor_sign_what_may_not_be_joined(
    clients: dict[str, tuple[Client, dict[str, str]]],
    url: str,
    login: str,
    body_and_type: tuple[bytes, str],
    content_type: str | None,
    content_length: int | str | None,
) -> None:
    body, written_for = body_and_type
    ctype = written_for if content_type is None else content_type
    declared = (
        str(len(body) + content_length) if isinstance(content_length, int) else content_length
    )
    client, extra = clients[login]
    headers = {**extra, "wsgi.input": io.BytesIO(body)}  # ends where its bytes end
    if declared is not None:
        headers["CONTENT_LENGTH"] = declared
    response = client.post(url, body, content_type=ctype, **headers)
    note(f"answer: {response.status_code} {response.content[:200]!r}")
    record_outcome(f"HTTP {response.status_code}")
    assert response.status_code in (200, 400, 403, 415), response.content
    assert response["Content-Type"] == "application/json"
    assert SECRET.encode() not in response.content
    if response.status_code != 200:
        assert "auth" not in response.json()
        return
    assert login != "anonymous"
    sent = signed_fields(effective_body(body, declared), ctype)
    answer = response.json()
    if url == USER_AUTH_URL:
        message = f"{sent['socket_id']}::user::{answer['user_data']}"
        assert answer["auth"] == f"{KEY}:{sign(SECRET, message)}"
        assert json.loads(answer["user_data"])["id"] == str(User.objects.get().pk)
        return
    channel = sent["channel_name"]
    assert channel in MAY_JOIN, channel
    expected = channel_auth(KEY, SECRET, sent["socket_id"], channel, answer.get("channel_data"))
    assert answer["auth"] == expected
