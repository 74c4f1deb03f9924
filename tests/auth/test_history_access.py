"""``GET /api/v1/pusher/history``: exactly the access rule of subscribing (SECURITY_CASES
39): public channels open, signed channels decided by the policy engine with the
auth endpoint's very 403 bodies; the user's own ``#server-to-user-`` channel only;
bad query strings are 400s, never a 5xx."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.delivery.publish import publish
from tests.helpers import form_post

# publish() sends after commit: real commits.
pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/pusher/history"


@pytest.fixture
def table(policy):
    policy("private-teacher", "teacher")
    policy("private-student", "student")
    policy("private-encrypted-student", "student")


def put(channel: str, *payloads: str) -> None:
    for data in payloads:
        publish([OutgoingEvent(id="", name="changed", channels=(channel,), data=data)])


def auth_response(client: Any, channel: str) -> Any:
    return form_post(client, socket_id="123.456", channel_name=channel)


def seqs(response: Any) -> list[int]:
    return [e["seq"] for e in response.json()["events"]]


# --- who may read ------------------------------------------------------------------------


def test_the_pinned_path():
    assert reverse("toolbox_realtime:history") == URL


def test_public_channels_are_open_anonymously():
    put("public-news", '{"n":1}', '{"n":2}')
    response = Client().get(URL, {"channel": "public-news"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"channel", "events", "next_after", "truncated", "oldest_seq", "last_seq"}
    assert body["channel"] == "public-news" and seqs(response) == [1, 2]
    assert set(body["events"][0]) == {"id", "seq", "event", "data", "delivered_at"}
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/json"


def test_an_allowed_user_reads_a_private_channel(table, student, token_client):
    put("private-student", '{"n":1}')
    response = token_client(student).get(URL, {"channel": "private-student"})
    assert response.status_code == 200 and seqs(response) == [1]


def test_a_denied_user_gets_the_auth_endpoints_403(table, student, token_client):
    put("private-teacher", '{"secret":1}')
    client = token_client(student)
    response = client.get(URL, {"channel": "private-teacher"})
    refused = auth_response(client, "private-teacher")
    assert response.status_code == refused.status_code == 403
    assert response.content == refused.content  # byte-identical
    assert b"secret" not in response.content
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("channel", ["private-student", "presence-x", "private-encrypted-x"])
def test_anonymous_on_a_signed_channel_gets_the_auth_endpoints_403(table, channel):
    put(channel, '{"n":1}')
    response = Client().get(URL, {"channel": channel})
    refused = auth_response(Client(), channel)
    assert response.status_code == refused.status_code == 403
    assert response.content == refused.content


def test_a_bad_token_gets_the_auth_endpoints_403(table):
    client = Client(HTTP_AUTHORIZATION="Bearer nope")
    response = client.get(URL, {"channel": "private-student"})
    refused = auth_response(client, "private-student")
    assert response.status_code == refused.status_code == 403
    assert response.content == refused.content


def test_a_channel_without_policy_is_denied(student, token_client):
    client = token_client(student)
    response = client.get(URL, {"channel": "private-nobody"})
    assert response.status_code == 403
    assert response.content == auth_response(client, "private-nobody").content


def test_a_session_login_needs_no_csrf_token_for_a_get(table, student):
    client = Client(enforce_csrf_checks=True)
    client.force_login(student)
    response = client.get(URL, {"channel": "private-student"})
    assert response.status_code == 200


def test_encrypted_channels_serve_the_plaintext_to_allowed_users(
    table, student, token_client, settings
):
    master = base64.b64encode(os.urandom(32)).decode()
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ENCRYPTION_MASTER_KEY_BASE64": master,
    }
    put("private-encrypted-student", '{"grade":"A"}')
    response = token_client(student).get(URL, {"channel": "private-encrypted-student"})
    assert response.status_code == 200
    assert response.json()["events"][0]["data"]["grade"] == "A"


def test_the_users_own_channel_only(student, teacher, token_client):
    own, other = f"#server-to-user-{student.pk}", f"#server-to-user-{teacher.pk}"
    put(own, '{"mine":1}')
    put(other, '{"theirs":1}')
    client = token_client(student)
    response = client.get(URL, {"channel": own})
    assert response.status_code == 200 and response.json()["events"][0]["data"]["mine"] == 1
    denied = client.get(URL, {"channel": other})
    assert denied.status_code == 403
    # The auth endpoint's denial body (the one a denied private channel gets).
    django_settings_denied = auth_response(client, "private-nobody").content
    assert denied.content == django_settings_denied
    anonymous = Client().get(URL, {"channel": own})
    assert anonymous.status_code == 403
    assert anonymous.content == auth_response(Client(), "private-nobody").content


# --- the query string ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "channel=public-a&after=abc",
        "channel=public-a&after=-1",
        "channel=public-a&after=" + "1" * 30,
        "channel=public-a&after=1.5",
        "channel=public-a&after=",
        "channel=public-a&after=1&after=2",
        "channel=public-a&limit=0",
        "channel=public-a&limit=101",
        "channel=public-a&limit=x",
        "channel=public-a&channel=public-b",
        "after=1",
        "channel=",
        "channel=bad%20name",
        "channel=%ff%fe",
        "channel=" + "a" * 5000,
        "channel=%23server-to-user-",
        "channel=public-a%00",
    ],
)
def test_bad_queries_are_400_with_a_clear_error(query):
    response = Client().get(f"{URL}?{query}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "bad_request" and body["detail"]
    assert response["Cache-Control"] == "no-store"


def test_after_names_the_rule():
    detail = Client().get(URL, {"channel": "public-a", "after": "abc"}).json()["detail"]
    assert "after" in detail and "18" in detail


def test_too_many_parameters_is_a_400():
    query = "&".join(f"x{i}=1" for i in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = Client().get(f"{URL}?channel=public-a&{query}")
    assert response.status_code == 400


def test_limit_and_after_through_http():
    put("public-a", *[f'{{"n":{n}}}' for n in range(5)])
    first = Client().get(URL, {"channel": "public-a", "limit": 2}).json()
    assert [e["seq"] for e in first["events"]] == [1, 2] and first["truncated"] is True
    rest = Client().get(URL, {"channel": "public-a", "after": first["next_after"]}).json()
    assert [e["seq"] for e in rest["events"]] == [3, 4, 5] and rest["truncated"] is False
    assert rest["next_after"] == 5 and rest["oldest_seq"] == 1


def test_methods():
    assert Client().head(URL, {"channel": "public-a"}).status_code == 200
    for method in ("post", "put", "delete", "options"):
        response = getattr(Client(), method)(f"{URL}?channel=public-a")
        assert response.status_code == 405, method
        assert response.json()["detail"] == "Use GET."


def test_queries_per_request_are_bounded(table, student, token_client):
    put("private-student", '{"n":0}')
    client = token_client(student)
    client.get(URL, {"channel": "private-student"})  # warm the policy cache
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL, {"channel": "private-student"}).status_code == 200
    put("private-student", *[f'{{"n":{n}}}' for n in range(30)])
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL, {"channel": "private-student"})
    assert len(seqs(response)) == 31
    assert len(many) == len(few) <= 8
