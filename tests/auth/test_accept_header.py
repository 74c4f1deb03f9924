"""The API views answer JSON whatever the client's Accept header says: DRF's content
negotiation would otherwise answer ``Accept: text/html`` with a 406 in its own body
shape, before the method or authentication is even looked at (found by the fuzzer)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PATHS = ["/api/v1/pusher/auth", "/api/v1/pusher/auth/batch", "/api/v1/pusher/user-auth"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("accept", ["text/html", "application/xml", "image/*;q=1", "bogus"])
def test_a_post_gets_the_apps_answer_not_a_406(path, accept):
    response = Client().post(
        path, {"socket_id": "1.2", "channel_name": "private-x"}, HTTP_ACCEPT=accept
    )
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) >= {"error"}


@pytest.mark.parametrize("path", PATHS)
def test_a_wrong_method_is_a_405_whatever_the_accept_header(path):
    response = Client().get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")


def test_history_answers_json_to_a_browser_accept_header():
    response = Client().get(
        "/api/v1/pusher/history", {"channel": "public-x"}, HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 200
    assert response.json()["channel"] == "public-x"
