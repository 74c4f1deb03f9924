"""Laravel Echo's CSRF header (``X-CSRF-TOKEN``; axios' ``X-XSRF-TOKEN``) on the auth
endpoints: accepted as Django's ``X-CSRFToken`` is, and checked just as strictly."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from django_toolbox_realtime.models import ChannelPolicy
from tests.helpers import AUTH_URL, USER_AUTH_URL

pytestmark = pytest.mark.django_db

BATCH_URL = "/api/v1/pusher/auth/batch"
FORM = "application/x-www-form-urlencoded"
BODIES = {
    AUTH_URL: "socket_id=1.1&channel_name=private-student",
    BATCH_URL: "socket_id=1.1&channel_name=private-student",
    USER_AUTH_URL: "socket_id=1.1",
}
ECHO_HEADERS = ["X-CSRF-TOKEN", "X-XSRF-TOKEN"]


@pytest.fixture
def student(db):
    user = User.objects.create_user("stu", password="pw-12345")
    user.groups.add(Group.objects.get_or_create(name="student")[0])
    ChannelPolicy.objects.create(channel="private-student", min_role="student")
    return user


def browser_of(user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get("/admin/login/")  # sets the CSRF cookie
    return browser, browser.cookies["csrftoken"].value


@pytest.mark.parametrize("url", list(BODIES))
@pytest.mark.parametrize("header", ECHO_HEADERS)
def test_echo_header_with_the_sessions_token_is_accepted(student, url, header):
    browser, token = browser_of(student)
    response = browser.post(url, BODIES[url], content_type=FORM, headers={header: token})
    assert response.status_code == 200, response.content
    assert "auth" in response.content.decode()


@pytest.mark.parametrize("url", list(BODIES))
@pytest.mark.parametrize("header", ECHO_HEADERS)
def test_echo_header_is_checked_as_strictly(student, url, header):
    browser, token = browser_of(student)
    other, other_token = browser_of(User.objects.create_user("other", password="pw-12345"))
    for bad in ["", "x" * 64, token[:-1] + ("a" if token[-1] != "a" else "b"), other_token]:
        response = browser.post(url, BODIES[url], content_type=FORM, headers={header: bad})
        assert response.status_code == 403, (bad, response.content)
        assert "auth" not in response.json()


def test_djangos_header_wins_when_both_are_sent(student):
    browser, token = browser_of(student)
    wrong_django = browser.post(
        AUTH_URL,
        BODIES[AUTH_URL],
        content_type=FORM,
        headers={"X-CSRFToken": "x" * 64, "X-CSRF-TOKEN": token},
    )
    assert wrong_django.status_code == 403


def test_other_views_do_not_read_echos_header(student, settings):
    """Only the app's auth endpoints: Django's CSRF middleware elsewhere is untouched."""
    browser, token = browser_of(student)
    response = browser.post(
        "/accounts/login/",
        {"username": "stu", "password": "pw-12345"},
        headers={"X-CSRF-TOKEN": token},
    )
    assert response.status_code == 403
