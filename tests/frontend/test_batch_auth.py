"""``POST auth/batch``: several channels in one request, each decided like ``auth``
(SECURITY_CASES 1, 5, 8, 9, 10, 37 for the batch)."""

from __future__ import annotations

import base64
import io
import json
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.test import Client

from django_toolbox_realtime import signals
from django_toolbox_realtime.authorization import parsers
from django_toolbox_realtime.crypto import shared_secret
from django_toolbox_realtime.models import ChannelPolicy
from example_project.classroom.models import Classroom
from tests.helpers import AUTH_URL, bearer_headers, channel_auth

pytestmark = pytest.mark.django_db

BATCH_URL = "/api/v1/pusher/auth/batch"
KEY, SECRET = django_settings.TEST_KEY, django_settings.TEST_SECRET
FORM = "application/x-www-form-urlencoded"
MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
FORBIDDEN = {"status": 403, "error": "Forbidden"}


@pytest.fixture
def student(db):
    user = User.objects.create_user("stu", password="pw-12345", first_name="Sam")
    user.groups.add(Group.objects.get_or_create(name="student")[0])
    for channel, role in [
        ("private-student", "student"),
        ("private-teacher", "teacher"),
        ("presence-classroom-{id}", "student"),
        ("private-encrypted-notes", "student"),
        ("private-a", "student"),
        ("private-b", "student"),
        ("private-c", "student"),
        ("private-d", "student"),
    ]:
        ChannelPolicy.objects.create(channel=channel, min_role=role)
    Classroom.objects.create(pk=101, name="101").students.add(user)
    return user


@pytest.fixture
def as_student(student):
    client = Client()
    client.defaults.update(bearer_headers(student))
    return client


@pytest.fixture
def encrypted(settings):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ENCRYPTION_MASTER_KEY_BASE64": MASTER_KEY,
    }


def post_json(client, body, url=BATCH_URL, **extra):
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


def assert_signed(result, socket_id, channel, channel_data=None):
    assert result["auth"] == channel_auth(KEY, SECRET, socket_id, channel, channel_data)


# --- what the JS helper gets ------------------------------------------------------------


def test_each_channel_is_answered_on_its_own(as_student, student, encrypted):
    channels = [
        "private-student",
        "presence-classroom-101",
        "private-encrypted-notes",
        "private-teacher",
        "presence-classroom-999",
    ]
    response = post_json(as_student, {"socket_id": "123.456", "channels": channels})
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    answers = response.json()["channels"]
    assert list(answers) == channels
    assert set(answers["private-student"]) == {"auth"}
    assert_signed(answers["private-student"], "123.456", "private-student")
    presence = answers["presence-classroom-101"]
    assert json.loads(presence["channel_data"])["user_id"] == str(student.pk)
    assert_signed(presence, "123.456", "presence-classroom-101", presence["channel_data"])
    secret = answers["private-encrypted-notes"]
    assert_signed(secret, "123.456", "private-encrypted-notes")
    assert secret["shared_secret"] == shared_secret("private-encrypted-notes")
    # Refusals share one body: no telling a missing classroom from a forbidden one.
    assert answers["private-teacher"] == FORBIDDEN
    assert answers["presence-classroom-999"] == FORBIDDEN


def test_the_answers_are_what_the_single_endpoint_signs(as_student, encrypted):
    channels = ["private-student", "presence-classroom-101", "private-encrypted-notes"]
    batch = post_json(as_student, {"socket_id": "1.2", "channels": channels}).json()["channels"]
    for channel in channels:
        single = post_json(as_student, {"socket_id": "1.2", "channel_name": channel}, AUTH_URL)
        assert single.status_code == 200
        assert batch[channel] == single.json()


@pytest.mark.parametrize(
    "form",
    [
        [("channel_name", "private-a"), ("channel_name", "private-b")],
        [("channel_name[]", "private-a"), ("channel_name[]", "private-b")],
        [("channel_name[0]", "private-a"), ("channel_name[1]", "private-b")],
    ],
)
def test_form_lists(as_student, form):
    body = urlencode([("socket_id", "7.8"), *form])
    response = as_student.post(BATCH_URL, body, content_type=FORM)
    assert response.status_code == 200, response.content
    answers = response.json()["channels"]
    assert list(answers) == ["private-a", "private-b"]
    assert_signed(answers["private-a"], "7.8", "private-a")
    assert_signed(answers["private-b"], "7.8", "private-b")


@pytest.mark.parametrize("url", [BATCH_URL, BATCH_URL + "/"])
def test_with_and_without_trailing_slash_post_is_not_redirected(as_student, url):
    response = post_json(as_student, {"socket_id": "1.1", "channels": ["private-a"]}, url)
    assert response.status_code == 200
    assert_signed(response.json()["channels"]["private-a"], "1.1", "private-a")


# --- SECURITY_CASES 37: one bad channel does not spoil the rest --------------------------


@pytest.mark.parametrize(
    "bad",
    ["private-a:x", "private-a\n", "private a", "", "x" * 200, "privé-a", "public-news"],
)
def test_a_malformed_or_public_channel_is_refused_alone(as_student, bad):
    response = post_json(as_student, {"socket_id": "1.1", "channels": ["private-a", bad]})
    assert response.status_code == 200, response.content
    answers = response.json()["channels"]
    assert_signed(answers["private-a"], "1.1", "private-a")
    refused = answers[bad]
    assert refused["status"] in (400, 403) and "auth" not in refused
    assert set(refused) <= {"status", "error", "detail"}


def test_server_to_user_is_never_signed(as_student, student):
    channel = f"#server-to-user-{student.pk}"
    answers = post_json(as_student, {"socket_id": "1.1", "channels": [channel]}).json()["channels"]
    assert "auth" not in answers[channel]


def test_signals_and_logs_per_channel(as_student, student, caplog):
    seen = []

    def record(sender, **kwargs):
        seen.append((kwargs["channel"], kwargs["decision"].allowed, kwargs["socket_id"]))

    signals.channel_authorized.connect(record, weak=False)
    signals.channel_denied.connect(record, weak=False)
    try:
        with caplog.at_level("DEBUG", logger="django_toolbox_realtime.auth"):
            post_json(
                as_student, {"socket_id": "5.6", "channels": ["private-a", "private-teacher"]}
            )
    finally:
        signals.channel_authorized.disconnect(record)
        signals.channel_denied.disconnect(record)
    assert seen == [("private-a", True, "5.6"), ("private-teacher", False, "5.6")]
    assert any(
        "Denied user" in r.message and "private-teacher" in r.message for r in caplog.records
    )


# --- the request as a whole --------------------------------------------------------------


def test_more_channels_than_the_limit_is_400_naming_it(settings, as_student):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "AUTH_BATCH_MAX": 3}
    channels = ["private-a", "private-b", "private-c", "private-d"]
    response = post_json(as_student, {"socket_id": "1.1", "channels": channels})
    assert response.status_code == 400
    assert "AUTH_BATCH_MAX" in response.json()["detail"] and "3" in response.json()["detail"]
    assert "channels" not in response.json()
    within = post_json(as_student, {"socket_id": "1.1", "channels": channels[:3]})
    assert within.status_code == 200


def test_the_default_limit_is_50(as_student):
    channels = [f"private-x{i}" for i in range(51)]
    response = post_json(as_student, {"socket_id": "1.1", "channels": channels})
    assert response.status_code == 400 and "50" in response.json()["detail"]
    assert post_json(as_student, {"socket_id": "1.1", "channels": channels[:50]}).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"socket_id": "1.1", "channels": ["private-a", "private-a"]},
        {"socket_id": "1.1", "channels": []},
        {"socket_id": "1.1", "channels": "private-a"},
        {"socket_id": "1.1", "channels": ["private-a", None]},
        {"socket_id": "1.1", "channels": ["private-a", ["private-b"]]},
        {"socket_id": "1.1", "channels": {"private-a": 1}},
        {"socket_id": "1.1"},
        {"channels": ["private-a"]},
        {"socket_id": ["1.1"], "channels": ["private-a"]},
    ],
)
def test_malformed_json_requests_are_400(as_student, body):
    response = post_json(as_student, body)
    assert response.status_code == 400, response.content
    assert "channels" not in response.json()


@pytest.mark.parametrize(
    "body",
    [
        "socket_id=1.1&channel_name=private-a&channel_name=private-a",
        "socket_id=1.1&channel_name[0]=private-a&channel_name[0]=private-b",
        "socket_id=1.1&channel_name=private-a&channel_name[]=private-a",
        "socket_id=1.1&socket_id=2.2&channel_name=private-a",
        "socket_id=1.1",
        "channel_name=private-a",
        "socket_id=1.1&channel_name[x]=private-a",
    ],
)
def test_malformed_forms_are_400(as_student, body):
    response = as_student.post(BATCH_URL, body, content_type=FORM)
    assert response.status_code == 400, response.content
    assert "channels" not in response.json()


@pytest.mark.parametrize(
    "socket_id", ["1.1:private-admin", "1.1\n", "١٢٣.٤٥٦", "", "1" * 10_000, "abc", "1.1.1"]
)
def test_a_bad_socket_id_refuses_the_whole_request(as_student, socket_id):
    response = post_json(as_student, {"socket_id": socket_id, "channels": ["private-a"]})
    assert response.status_code == 400
    assert "channels" not in response.json() and "auth" not in response.content.decode()


def test_anonymous_is_json_403_not_a_redirect(student):
    response = post_json(Client(), {"socket_id": "1.1", "channels": ["private-a"]})
    assert response.status_code == 403
    assert response.json()["error"] == "not_authenticated"


def test_only_post(as_student):
    response = as_student.get(BATCH_URL, {"socket_id": "1.1", "channel_name": "private-a"})
    assert response.status_code == 405


@pytest.mark.parametrize("secret", [None, "", "your_secret_key"])
def test_no_usable_secret_is_503(settings, as_student, secret):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "SECRET": secret}
    response = post_json(as_student, {"socket_id": "1.1", "channels": ["private-a"]})
    assert response.status_code == 503 and "channels" not in response.json()


def test_an_encrypted_channel_without_master_key_fails_alone(as_student):
    channels = ["private-a", "private-encrypted-notes"]
    response = post_json(as_student, {"socket_id": "1.1", "channels": channels})
    assert response.status_code == 200
    answers = response.json()["channels"]
    assert_signed(answers["private-a"], "1.1", "private-a")
    assert answers["private-encrypted-notes"]["status"] == 503
    assert "ENCRYPTION_MASTER_KEY_BASE64" in answers["private-encrypted-notes"]["detail"]
    assert MASTER_KEY not in response.content.decode()


def test_the_secret_is_never_in_a_response(as_student, encrypted):
    channels = ["private-a", "presence-classroom-101", "private-encrypted-notes", "private-x"]
    body = post_json(as_student, {"socket_id": "1.1", "channels": channels}).content.decode()
    assert SECRET not in body and MASTER_KEY not in body


# --- session logins: CSRF -----------------------------------------------------------------


def session_browser(user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/admin/login/")  # any page that sets the CSRF cookie
    return browser, browser.cookies["csrftoken"].value


@pytest.mark.parametrize("content", ["json", "form"])
def test_session_needs_the_csrf_token(student, content):
    browser, token = session_browser(student)
    if content == "json":
        body, ctype = json.dumps({"socket_id": "1.1", "channels": ["private-a", "private-b"]}), None
    else:
        body, ctype = "socket_id=1.1&channel_name=private-a&channel_name=private-b", FORM
    ctype = ctype or "application/json"
    cross_site = browser.post(BATCH_URL, body, content_type=ctype)
    assert cross_site.status_code == 403 and "CSRF" in cross_site.json()["detail"]
    assert "channels" not in cross_site.json()
    same_site = browser.post(BATCH_URL, body, content_type=ctype, headers={"X-CSRFToken": token})
    assert same_site.status_code == 200, same_site.content
    assert_signed(same_site.json()["channels"]["private-b"], "1.1", "private-b")


def test_the_single_endpoint_still_refuses_lists(as_student):
    for body, ctype in [
        ("socket_id=1.1&channel_name=private-a&channel_name=private-b", FORM),
        ("socket_id=1.1&channel_name[]=private-a&channel_name[]=private-b", FORM),
        (json.dumps({"socket_id": "1.1", "channel_name": ["private-a"]}), "application/json"),
        (json.dumps({"socket_id": "1.1", "channels": ["private-a"]}), "application/json"),
    ]:
        response = as_student.post(AUTH_URL, body, content_type=ctype)
        assert response.status_code == 400, body


@pytest.mark.parametrize("login", ["session", "token"])
def test_the_body_is_parsed_once(student, monkeypatch, login):
    """A session's CSRF check parses the form: the view reuses that parse."""
    parsed = []
    real = parsers.parse_list_form
    monkeypatch.setattr(
        parsers, "parse_list_form", lambda raw, field: parsed.append(raw) or real(raw, field)
    )
    body = "socket_id=1.1&channel_name=private-a&channel_name=private-b"
    if login == "session":
        client, token = session_browser(student)
        extra = {"headers": {"X-CSRFToken": token}}
    else:
        client, extra = Client(), bearer_headers(student)
    response = client.post(BATCH_URL, body, content_type=FORM, **extra)
    assert response.status_code == 200 and len(response.json()["channels"]) == 2
    assert parsed == [body.encode()]


@pytest.mark.parametrize(
    "body",
    [
        '{"socket_id": "1.1", "channels": ' + "[" * 2_000 + "]" * 2_000 + "}",
        '{"socket_id": "1.1", "socket_id": "2.2", "channels": ["private-a"]}',
        '{"socket_id": "1.1", "channels": ["private-a"], "channels": ["private-b"]}',
        '{"socket_id": "1.1", "channels": [NaN]}',
        '["1.1", ["private-a"]]',
    ],
)
def test_hostile_json_is_400_never_500(as_student, body):
    # SECURITY_CASES 9 and 30, on the batch endpoint.
    response = as_student.post(BATCH_URL, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "channels" not in response.json()


@pytest.mark.parametrize("content_length", ["abc", "-1", "+44", "1e2", "larger"])
def test_bad_content_length_is_400(settings, as_student, content_length):
    # SECURITY_CASES 31, without the example project's own Content-Length guard.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("example_project.")]
    body = json.dumps({"socket_id": "1.1", "channels": ["private-a"]}).encode()
    if content_length == "larger":  # the body ends before it, as a half-closed socket's
        content_length = str(len(body) + 10)
    response = as_student.post(
        BATCH_URL,
        body,
        content_type="application/json",
        CONTENT_LENGTH=content_length,
        **{"wsgi.input": io.BytesIO(body)},
    )
    assert response.status_code == 400, response.content
    assert "Content-Length" in response.json()["detail"]
    assert "auth" not in response.content.decode()
