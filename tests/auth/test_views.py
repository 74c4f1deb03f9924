"""The auth and user-auth endpoints against SECURITY_CASES.md 1-12 (HTTP level)."""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from django_toolbox_realtime import signals
from example_project.classroom.models import Classroom
from tests.helpers import AUTH_URL, USER_AUTH_URL, channel_auth, form_post, sign

pytestmark = pytest.mark.django_db

KEY, SECRET = django_settings.TEST_KEY, django_settings.TEST_SECRET
DENIED = {"error": "forbidden", "detail": "You may not subscribe to this channel."}


@pytest.fixture
def table(policy):
    policy("private-admin", "admin")
    policy("private-teacher", "teacher")
    policy("private-student", "student")
    policy("presence-classroom-{id}", "student")


@pytest.fixture
def classroom(table, student, teacher):
    room = Classroom.objects.create(pk=101, name="101")
    room.students.add(student)
    room.teachers.add(teacher)
    return room


@pytest.fixture
def as_student(student, token_client):
    return token_client(student)


def signs(response, socket_id, channel, channel_data=None):
    """Whether the response's auth is the signature computed by tests.helpers."""
    return response.json()["auth"] == channel_auth(KEY, SECRET, socket_id, channel, channel_data)


# --- what pusher-js expects -----------------------------------------------------------


def test_private_channel(as_student, table):
    response = form_post(as_student, socket_id="123.456", channel_name="private-student")
    assert response.status_code == 200
    assert set(response.json()) == {"auth"}
    assert signs(response, "123.456", "private-student")
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/json"


def test_presence_channel_data_is_built_on_the_server(as_student, student, classroom):
    # SECURITY_CASES 7: whatever the client says about itself is ignored.
    response = form_post(
        as_student,
        socket_id="1.2",
        channel_name="presence-classroom-101",
        channel_data='{"user_id":"1","user_info":{"role":"admin"}}',
        user_id="1",
        user_info='{"role":"admin"}',
    )
    assert response.status_code == 200
    body = response.json()
    channel_data = body["channel_data"]
    assert isinstance(channel_data, str)  # double-encoded, as the protocol wants
    assert json.loads(channel_data) == {
        "user_id": str(student.pk),
        "user_info": {
            "name": "Sam Student",
            "role": "student",
            "avatar": None,
            "classroom_role": "student",
        },
    }
    # Byte-identical: the string returned is the string signed.
    assert signs(response, "1.2", "presence-classroom-101", channel_data)
    assert response.content.count(b"channel_data") == 1


def test_presence_user_info_setting(settings, as_student, classroom):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "PRESENCE_USER_INFO": "tests.auth.test_views.tiny_info",
    }
    response = form_post(as_student, socket_id="1.2", channel_name="presence-classroom-101")
    assert json.loads(response.json()["channel_data"])["user_info"] == {
        "initial": "s",
        "classroom_role": "student",
    }


def tiny_info(user):
    return {"initial": user.username[0]}


def huge_info(user):
    return {"bio": "x" * 2000}


def test_presence_user_info_over_1_kb_is_a_clear_error(settings, as_student, classroom):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "PRESENCE_USER_INFO": "tests.auth.test_views.huge_info",
    }
    response = form_post(as_student, socket_id="1.2", channel_name="presence-classroom-101")
    assert response.status_code == 400
    assert "user_info" in response.json()["detail"] and "1,024" in response.json()["detail"]
    assert "auth" not in response.json()


def test_encrypted_channel(settings, as_student, policy):
    import base64

    policy("private-encrypted-grades", "student")
    response = form_post(as_student, socket_id="1.2", channel_name="private-encrypted-grades")
    assert response.status_code == 503  # no master key configured
    assert "ENCRYPTION_MASTER_KEY_BASE64" in response.json()["detail"]
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ENCRYPTION_MASTER_KEY_BASE64": base64.b64encode(b"k" * 32).decode(),
    }
    response = form_post(as_student, socket_id="1.2", channel_name="private-encrypted-grades")
    assert response.status_code == 200
    assert set(response.json()) == {"auth", "shared_secret"}
    assert len(base64.b64decode(response.json()["shared_secret"])) == 32


def test_json_body_is_accepted(as_student, table):
    response = as_student.post(
        AUTH_URL, {"socket_id": "1.2", "channel_name": "private-student"}, format="json"
    )
    assert response.status_code == 200 and signs(response, "1.2", "private-student")


@pytest.mark.parametrize("url", ["/api/v1/pusher/auth", "/api/v1/pusher/auth/"])
def test_with_and_without_trailing_slash(as_student, table, url):
    assert (
        form_post(as_student, url, socket_id="1.2", channel_name="private-student").status_code
        == 200
    )


def test_user_auth(as_student, student):
    response = form_post(as_student, USER_AUTH_URL, socket_id="9.9")
    assert response.status_code == 200
    body = response.json()
    user_data = json.loads(body["user_data"])
    assert user_data["id"] == str(student.pk) and user_data["user_info"]["role"] == "student"
    message = "9.9::user::" + body["user_data"]
    assert body["auth"] == f"{KEY}:{sign(SECRET, message)}"
    assert form_post(as_student, USER_AUTH_URL + "/", socket_id="9.9").status_code == 200


# --- SECURITY_CASES 1, 2, 9: malformed input -> 400, nothing signed -------------------


@pytest.mark.parametrize(
    "socket_id",
    [
        "1.1:private-admin",
        "1.1\n",
        "١٢٣.٤٥٦",
        "",
        "1" * 10_000,
        "1.1 ",
        " 1.1",
        "1.",
        ".1",
        "1.1.1",
        "-1.1",
    ],
)
@pytest.mark.parametrize("url", [AUTH_URL, USER_AUTH_URL])
def test_bad_socket_ids(as_student, table, socket_id, url):
    response = form_post(as_student, url, socket_id=socket_id, channel_name="private-student")
    assert response.status_code == 400
    assert "auth" not in response.json()


@pytest.mark.parametrize(
    "channel",
    [
        "private-a:b",
        "private-a\n",
        "private- a",
        "private-#a",
        "private-é",
        "private-" + "a" * 157,
        "",
        "#server-to-user-1",
        "private-a\x00",
    ],
)
def test_bad_channel_names(as_student, table, channel):
    response = form_post(as_student, socket_id="1.1", channel_name=channel)
    assert response.status_code == 400
    assert "auth" not in response.json()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("socket_id=1.1&socket_id=2.2&channel_name=private-student", "form"),
        ("socket_id=1.1&channel_name=private-student&channel_name=private-admin", "form"),
        ("socket_id=1.1&channel_name=private-student&extra=1&extra=2", "form"),
        ("channel_name=private-student", "form"),
        ("socket_id=1.1", "form"),
        ("", "form"),
        ('{"socket_id": null, "channel_name": "private-student"}', "json"),
        ('{"socket_id": ["1.1"], "channel_name": "private-student"}', "json"),
        ('{"socket_id": {"a": 1}, "channel_name": "private-student"}', "json"),
        ('{"socket_id": 1.1, "channel_name": "private-student"}', "json"),
        ('{"socket_id": "1.1", "channel_name": ["private-student"]}', "json"),
        ('{"socket_id": "1.1", "channel_name": null}', "json"),
        ('{"socket_id": "1.1", "socket_id": "2.2", "channel_name": "private-student"}', "json"),
        ('["1.1", "private-student"]', "json"),
        ('"private-student"', "json"),
        ("null", "json"),
        ('{"socket_id": NaN, "channel_name": "private-student"}', "json"),
        ("{not json", "json"),
        (b'{"socket_id": "\xff"}', "json"),
    ],
)
def test_malformed_bodies(as_student, table, body, content_type):
    ctype = "application/json" if content_type == "json" else "application/x-www-form-urlencoded"
    response = as_student.post(AUTH_URL, body, content_type=ctype)
    assert response.status_code == 400, response.content
    assert "auth" not in response.json()


def test_body_limits_are_400_not_500(settings, as_student, table):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    many = "socket_id=1.1&channel_name=private-student&a=1&b=2&c=3"
    response = as_student.post(AUTH_URL, many, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = "socket_id=1.1&channel_name=private-student&pad=" + "x" * 2000
    for body, ctype in (
        (big, "application/x-www-form-urlencoded"),
        (json.dumps({"socket_id": "1.1", "pad": "x" * 2000}), "application/json"),
    ):
        response = as_student.post(AUTH_URL, body, content_type=ctype)
        assert response.status_code == 400 and "auth" not in response.json()


def test_other_content_types_are_refused(as_student, table):
    response = as_student.post(AUTH_URL, {"socket_id": "1.1", "channel_name": "private-student"})
    assert response.status_code == 415  # multipart: not what pusher-js sends


# --- SECURITY_CASES 3, 4, 6: refusals ------------------------------------------------


@pytest.mark.parametrize(
    "channel",
    [
        "public-dashboard",
        "public-notifications",
        "agent-status",
        "private-teacher",
        "private-admin",
        "private-nothing",
        "presence-classroom-1-extra",
        "presence-classroom-1.2",
        "xpresence-classroom-1",
        "presence-classroom-999",
        "presence-classroom-102",
        "presence-classroom-99999999999999999999999",
        "presence-classroom-abc",
        "private-encrypted-x",
    ],
)
def test_refused_with_one_body(as_student, classroom, channel):
    Classroom.objects.create(pk=102, name="not mine")
    response = form_post(as_student, socket_id="1.1", channel_name=channel)
    assert response.status_code == 403
    # Same body for a classroom that does not exist (999) and one that is not the
    # student's (102): no probing of which ids exist.
    assert response.json() == DENIED


def test_unenrolled_student_teacher_and_admin_on_the_classroom(
    classroom, make_user, token_client, teacher
):
    other = token_client(make_user("other", "student"))
    assert (
        form_post(other, socket_id="1.1", channel_name="presence-classroom-101").status_code == 403
    )
    as_teacher = token_client(teacher)
    response = form_post(as_teacher, socket_id="1.1", channel_name="presence-classroom-101")
    assert json.loads(response.json()["channel_data"])["user_info"]["classroom_role"] == "teacher"
    as_admin = token_client(make_user("boss", "admin"))
    response = form_post(as_admin, socket_id="1.1", channel_name="presence-classroom-101")
    assert json.loads(response.json()["channel_data"])["user_info"]["classroom_role"] == "admin"
    stranger_teacher = token_client(make_user("t2", "teacher"))
    assert (
        form_post(
            stranger_teacher, socket_id="1.1", channel_name="presence-classroom-101"
        ).status_code
        == 403
    )


# --- SECURITY_CASES 5, 8: anonymous, methods, CSRF -------------------------------------


@pytest.mark.parametrize("url", [AUTH_URL, USER_AUTH_URL])
@pytest.mark.parametrize("auth", [None, "Bearer nope", "Token nope", "Bearer ", "Basic YTpi"])
def test_anonymous_is_json_403_not_a_redirect(table, url, auth):
    client = Client()
    extra = {"HTTP_AUTHORIZATION": auth} if auth else {}
    response = client.post(
        url,
        urlencode({"socket_id": "1.1", "channel_name": "private-student"}),
        content_type="application/x-www-form-urlencoded",
        **extra,
    )
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] in ("not_authenticated", "forbidden")
    assert "auth" not in response.json() and "Location" not in response


def test_inactive_users_token_is_refused(student, token_client, table):
    client = token_client(student)
    student.is_active = False
    student.save()
    assert form_post(client, socket_id="1.1", channel_name="private-student").status_code == 403


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "options"])
@pytest.mark.parametrize("url", [AUTH_URL, USER_AUTH_URL])
def test_only_post(as_student, table, method, url):
    response = getattr(as_student, method)(
        f"{url}?callback=x&socket_id=1.1&channel_name=private-student"
    )
    assert response.status_code == 405
    assert b"x(" not in response.content and response["Content-Type"] == "application/json"
    assert "Access-Control-Allow-Origin" not in response


def test_session_auth_enforces_csrf(student, table):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(student)
    fields = urlencode({"socket_id": "1.1", "channel_name": "private-student"})
    form = "application/x-www-form-urlencoded"
    cross_site = browser.post(AUTH_URL, fields, content_type=form)
    assert cross_site.status_code == 403 and "CSRF" in cross_site.json()["detail"]
    assert "auth" not in cross_site.json()
    browser.get("/admin/login/")  # any page that sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    same_site = browser.post(AUTH_URL, fields, content_type=form, HTTP_X_CSRFTOKEN=token)
    assert same_site.status_code == 200 and signs(same_site, "1.1", "private-student")
    user_auth = browser.post(USER_AUTH_URL, "socket_id=1.1", content_type=form)
    assert user_auth.status_code == 403


@pytest.mark.parametrize("login", ["session", "token"])
def test_the_body_is_parsed_once(student, table, token_client, monkeypatch, login):
    """A session's CSRF check reads request.POST: the view reuses that parse."""
    from rest_framework.parsers import FormParser

    from django_toolbox_realtime.authorization import parsers

    parsed = []
    real_parse_form = parsers.parse_form
    monkeypatch.setattr(
        parsers, "parse_form", lambda raw: parsed.append(raw) or real_parse_form(raw)
    )
    real_drf_parse = FormParser.parse  # DRF's own form parsing must not run as well
    monkeypatch.setattr(
        FormParser,
        "parse",
        lambda self, stream, *args: parsed.append("drf") or real_drf_parse(self, stream, *args),
    )
    fields = "socket_id=1.1&channel_name=private-student"
    form = "application/x-www-form-urlencoded"
    if login == "session":
        client = Client(enforce_csrf_checks=True)
        client.force_login(student)
        client.get("/admin/login/")  # sets the CSRF cookie
        extra = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
    else:
        client, extra = token_client(student), {}
    response = client.post(AUTH_URL, fields, content_type=form, **extra)
    assert response.status_code == 200 and signs(response, "1.1", "private-student")
    assert parsed == [fields.encode()]


def test_no_credentialed_wildcard_cors(as_student, table):
    response = as_student.post(
        AUTH_URL,
        urlencode({"socket_id": "1.1", "channel_name": "private-student"}),
        content_type="application/x-www-form-urlencoded",
        HTTP_ORIGIN="https://evil.example",
    )
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response


# --- SECURITY_CASES 10: no usable secret -> 503 ---------------------------------------


@pytest.mark.parametrize("secret", [None, "", "   ", "your_secret_key", "YOUR_SECRET_KEY"])
@pytest.mark.parametrize("url", [AUTH_URL, USER_AUTH_URL])
def test_missing_or_placeholder_secret(settings, as_student, table, secret, url):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "SECRET": secret}
    response = form_post(as_student, url, socket_id="1.1", channel_name="private-student")
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "SECRET" in detail and "auth" not in response.json()
    if secret and secret.strip():
        assert secret not in detail  # never echo the secret


def test_secret_never_in_any_response(settings, as_student, table):
    for url in (AUTH_URL, USER_AUTH_URL):
        for channel in ("private-student", "private-admin", "bad:name"):
            response = form_post(as_student, url, socket_id="1.1", channel_name=channel)
            assert SECRET.encode() not in response.content


# --- the same settings choose the authentication classes ------------------------------


def test_authentication_classes_setting(settings, as_student, student, table):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "AUTHENTICATION_CLASSES": [
            "django_toolbox_realtime.authentication.CSRFEnforcingSessionAuthentication"
        ],
    }
    # The token is no longer accepted...
    assert form_post(as_student, socket_id="1.1", channel_name="private-student").status_code == 403
    # ...and a token-only setup still answers 403 (not 401) to anonymous users.
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "AUTHENTICATION_CLASSES": [
            "django_toolbox_realtime.authentication.BearerTokenAuthentication"
        ],
    }
    response = Client().post(
        AUTH_URL,
        "socket_id=1.1&channel_name=private-student",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 403


# --- signals and query budget ---------------------------------------------------------


def test_signals_are_sent_robustly(as_student, table, student):
    seen = []

    def good(sender, **kwargs):
        seen.append(
            (
                kwargs["channel"],
                kwargs["decision"].allowed,
                kwargs["user"],
                kwargs["socket_id"],
                kwargs["request"] is not None,
            )
        )

    def bad(sender, **kwargs):
        raise RuntimeError("audit backend down")

    for signal in (signals.channel_authorized, signals.channel_denied):
        signal.connect(bad, dispatch_uid="bad")
        signal.connect(good, dispatch_uid="good")
    try:
        assert (
            form_post(as_student, socket_id="1.1", channel_name="private-student").status_code
            == 200
        )
        assert (
            form_post(as_student, socket_id="1.1", channel_name="private-admin").status_code == 403
        )
    finally:
        for signal in (signals.channel_authorized, signals.channel_denied):
            signal.disconnect(dispatch_uid="bad")
            signal.disconnect(dispatch_uid="good")
    assert seen == [
        ("private-student", True, student, "1.1", True),
        ("private-admin", False, student, "1.1", True),
    ]


def test_queries_per_auth_request(as_student, classroom, django_assert_num_queries):
    """Warm cache: the token (1) and the classroom authorizer's own query (1); no
    policy query, no groups query."""
    with django_assert_num_queries(5):  # cold: + policies (2) + the user's groups (1)
        form_post(as_student, socket_id="1.1", channel_name="presence-classroom-101")
    with django_assert_num_queries(2):
        response = form_post(as_student, socket_id="1.1", channel_name="presence-classroom-101")
    assert response.status_code == 200
    with django_assert_num_queries(1):  # no authorizer on private-student: the token only
        assert (
            form_post(as_student, socket_id="1.1", channel_name="private-student").status_code
            == 200
        )


def test_session_queries_per_auth_request(student, table, django_assert_num_queries):
    browser = Client()
    browser.force_login(student)
    body = "socket_id=1.1&channel_name=private-student"
    form = "application/x-www-form-urlencoded"
    browser.post(AUTH_URL, body, content_type=form)
    with django_assert_num_queries(2):  # the session and the user
        assert browser.post(AUTH_URL, body, content_type=form).status_code == 200


def test_admin_edit_applies_on_the_next_request(as_student, table):
    from django_toolbox_realtime.models import ChannelPolicy

    assert form_post(as_student, socket_id="1.1", channel_name="private-student").status_code == 200
    ChannelPolicy.objects.filter(channel="private-student").get().delete()
    assert form_post(as_student, socket_id="1.1", channel_name="private-student").status_code == 403


# --- fuzzing: whatever arrives, never a 500 and never a signature for junk ------------

_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))


@hypothesis_settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    socket_id=st.one_of(st.text(_CHARS, max_size=30), st.from_regex(r"\A[0-9]{1,6}\.[0-9]{1,6}\Z")),
    channel=st.one_of(
        st.text(_CHARS, max_size=40),
        st.from_regex(r"\A(private|presence)-classroom-[0-9a-z.\-]{0,6}\Z"),
    ),
)
def test_fuzzed_form_never_fails_or_signs_junk(as_student, classroom, socket_id, channel):
    response = form_post(as_student, socket_id=socket_id, channel_name=channel)
    assert response.status_code in (200, 400, 403), response.content
    if response.status_code == 200:
        assert socket_id.isascii() and channel in ("presence-classroom-101",)
        assert signs(response, socket_id, channel, response.json()["channel_data"])


# --- issue 8 item 2 (SECURITY_CASES 30, 31): malformed requests are 400, never 500 ----


@pytest.fixture
def app_middleware_only(settings):
    """Without the example project's own middleware (its Content-Length guard would
    answer first): the app's views must hold in any project."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("example_project.")]


def nested_json(depth: int) -> str:
    """A JSON object whose ``socket_id`` holds ``depth - 1`` more levels of nesting."""
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    return '{"socket_id": ' + (inner or '"1.1"') + ', "channel_name": "private-student"}'


def csrf_browser(user):
    """A logged-in browser with its CSRF token: (client, headers)."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/admin/login/")  # any page that sets the CSRF cookie
    return browser, {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}


@pytest.fixture(params=["token", "session"])
def logged_in(request, student, token_client):
    """(client, extra headers) of the student, by token or by session + CSRF token."""
    if request.param == "token":
        return token_client(student), {}
    return csrf_browser(student)


@pytest.mark.parametrize("depth", [33, 900, 2_000, 100_000])
@pytest.mark.parametrize("url", [AUTH_URL, USER_AUTH_URL])
def test_deeply_nested_json_is_400(app_middleware_only, logged_in, table, url, depth):
    client, extra = logged_in
    response = client.post(url, nested_json(depth), content_type="application/json", **extra)
    assert response.status_code == 400, response.content
    assert "auth" not in response.json()
    assert "32" in response.json()["detail"]  # names the bound


def test_nesting_within_the_bound_is_not_refused(as_student, table):
    # Extra fields are ignored; nesting below the bound is not an error.
    body = json.dumps({"socket_id": "1.1", "channel_name": "private-student", "x": [[[{}]]]})
    response = as_student.post(AUTH_URL, body, content_type="application/json")
    assert response.status_code == 200 and signs(response, "1.1", "private-student")


BAD_CONTENT_LENGTHS = ["abc", "-1", "-100", "+44", "4_4", " 44", "٤٤", "1e2", "9" * 5000]


@pytest.mark.parametrize("content_length", BAD_CONTENT_LENGTHS)
@pytest.mark.parametrize("url", [AUTH_URL, USER_AUTH_URL])
def test_bad_content_length_is_400(app_middleware_only, logged_in, table, url, content_length):
    client, extra = logged_in
    body = "socket_id=1.1&channel_name=private-student"
    response = client.post(
        url,
        body,
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=content_length,
        **extra,
    )
    assert response.status_code == 400, response.content
    assert "Content-Length" in response.json()["detail"] and "auth" not in response.json()


@pytest.mark.parametrize("url", [AUTH_URL, USER_AUTH_URL])
def test_content_length_larger_than_the_body_is_400(app_middleware_only, logged_in, table, url):
    """The body ends before its Content-Length (as when a client half-closes):
    refused, not signed on a truncated body."""
    client, extra = logged_in
    body = b"socket_id=1.1&channel_name=private-student"
    response = client.post(
        url,
        body,
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(len(body) + 10),
        **{"wsgi.input": io.BytesIO(body)},  # ends where a socket would
        **extra,
    )
    assert response.status_code == 400, response.content
    assert "Content-Length" in response.json()["detail"] and "auth" not in response.json()


def test_a_truncated_body_that_still_parses_is_not_signed(app_middleware_only, as_student, table):
    """``socket_id=1.1&channel_name=private-student`` cut short still parses
    (``private-stud``): the length check refuses it anyway."""
    body = b"socket_id=1.1&channel_name=private-student"
    response = as_student.post(
        AUTH_URL,
        body,
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(len(body)),
        **{"wsgi.input": io.BytesIO(body[:-7])},
    )
    assert response.status_code == 400 and "auth" not in response.json()


def test_a_correct_content_length_and_none_at_all_are_fine(as_student, table):
    body = "socket_id=1.1&channel_name=private-student"
    form = "application/x-www-form-urlencoded"
    ok = as_student.post(AUTH_URL, body, content_type=form, CONTENT_LENGTH=str(len(body)))
    assert ok.status_code == 200 and signs(ok, "1.1", "private-student")
    empty = as_student.post(AUTH_URL, "", content_type=form)  # no Content-Length at all
    assert empty.status_code == 400 and "socket_id" in empty.json()["detail"]


# --- issue 8 item 3: socket ids have bounded parts ------------------------------------


@pytest.mark.parametrize(
    "socket_id",
    [
        "1" * 5_000 + "." + "1" * 4_999,  # SECURITY_CASES 1: 10,000 characters
        "1" * 21 + ".1",
        "1." + "1" * 21,
    ],
)
@pytest.mark.parametrize("url", [AUTH_URL, USER_AUTH_URL])
def test_overlong_socket_ids_are_400(as_student, table, socket_id, url):
    response = form_post(as_student, url, socket_id=socket_id, channel_name="private-student")
    assert response.status_code == 400
    assert "auth" not in response.json() and "20 digits" in response.json()["detail"]


def test_twenty_digits_per_part_are_signed(as_student, table):
    socket_id = "9" * 20 + "." + "0" * 20
    response = form_post(as_student, socket_id=socket_id, channel_name="private-student")
    assert response.status_code == 200 and signs(response, socket_id, "private-student")


# --- issue 8 item 10: DRF's own "Token" keyword ---------------------------------------


def token_key(user):
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key


@pytest.mark.parametrize("keyword", ["Token", "token", "TOKEN", "Bearer", "bearer"])
@pytest.mark.parametrize("url", [AUTH_URL, USER_AUTH_URL])
def test_token_and_bearer_keywords(student, table, keyword, url):
    client = Client(HTTP_AUTHORIZATION=f"{keyword} {token_key(student)}")
    response = form_post(client, url, socket_id="1.1", channel_name="private-student")
    assert response.status_code == 200, response.content
    if url == AUTH_URL:
        assert signs(response, "1.1", "private-student")


@pytest.mark.parametrize(
    "header",
    ["Token", "Token ", "Token a b", "Token \xff", "Bearer", "Token nope", "Token {key}x"],
)
def test_malformed_token_headers_are_json_403(student, table, header):
    client = Client(HTTP_AUTHORIZATION=header.format(key=token_key(student)))
    response = form_post(client, socket_id="1.1", channel_name="private-student")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "not_authenticated" and "auth" not in response.json()


@pytest.mark.parametrize("header", ["Basic YTpi", "JWT abc.def", "Bearer-Token abc", "Key abc"])
def test_another_keyword_is_told_which_to_use(table, header):
    client = Client(HTTP_AUTHORIZATION=header)
    response = form_post(client, socket_id="1.1", channel_name="private-student")
    assert response.status_code == 403 and response.json()["error"] == "not_authenticated"
    detail = response.json()["detail"]
    assert "Authorization: Bearer <token>" in detail and "Token <token>" in detail
    assert header.split()[1] not in detail  # the credentials are never echoed


def test_no_header_or_no_token_class_gets_the_plain_message(settings, table):
    no_header = form_post(Client(), socket_id="1.1", channel_name="private-student")
    assert no_header.json()["detail"] == "Sign in first."
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "AUTHENTICATION_CLASSES": [
            "django_toolbox_realtime.authentication.CSRFEnforcingSessionAuthentication"
        ],
    }
    session_only = form_post(
        Client(HTTP_AUTHORIZATION="Basic YTpi"), socket_id="1.1", channel_name="private-student"
    )
    assert session_only.status_code == 403 and session_only.json()["detail"] == "Sign in first."
