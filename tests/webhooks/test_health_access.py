"""Who sees what in health (issue 8 item 4, SECURITY_CASES 33): anonymous callers
get the status and the counts only; staff users and monitors with
``HEALTH_TOKEN`` get the whole report. The cached report never leaks from one
caller to the next."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.checks import run_checks
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.webhooks.conftest import HEALTH_URL, STATUS_URL, added, occupied, secret_free
from tests.webhooks.health_auth import TOKEN

pytestmark = pytest.mark.django_db

#: Exactly what an anonymous caller gets from /health/pusher/status.
PUBLIC_STATUS_KEYS = {
    "status",
    "pusher_enabled",
    "connected_users",
    "total_channels",
    "checked_at",
    "view",
}
#: Names that must never reach an anonymous caller.
HIDDEN_NAMES = ["private-teacher", "presence-classroom-101", "#server-to-user-42", "public-news"]


@pytest.fixture
def with_token(settings: Any) -> str:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "HEALTH_TOKEN": TOKEN}
    return TOKEN


@pytest.fixture
def busy_state(post_webhook: Any) -> None:
    """Stored channels of every kind, a presence member, and a forged webhook."""
    events = [occupied(name) for name in HIDDEN_NAMES]
    events.append(added("7", "presence-classroom-101"))
    assert post_webhook(events).status_code == 200
    assert post_webhook([occupied("private-x")], secret="forged").status_code == 401


def status_of(client: Any, **headers: str) -> tuple[dict[str, Any], str]:
    response = client.get(STATUS_URL, **headers)
    assert response.status_code == 200
    text = secret_free(response)
    return response.json()["data"], text


def assert_anonymous(data: dict[str, Any], text: str) -> None:
    assert set(data) == PUBLIC_STATUS_KEYS
    assert data["view"] == "public"
    for leak in [*HIDDEN_NAMES, "server-to-user", "127.0.0.1", "Locmem", "Backend", "signature"]:
        assert leak not in text, leak


# --- anonymous ------------------------------------------------------------------------------


def test_33_anonymous_status_is_the_status_and_the_counts(client: Any, busy_state: None) -> None:
    data, text = status_of(client)
    assert_anonymous(data, text)
    assert data["status"] == "healthy" and data["pusher_enabled"] is True
    assert data["total_channels"] == len(HIDDEN_NAMES)
    assert data["connected_users"] == 1


def test_33_anonymous_project_health_is_per_service_statuses(client: Any, busy_state: None) -> None:
    response = client.get(HEALTH_URL)
    assert response.status_code == 200
    text = secret_free(response)
    data = response.json()["data"]
    assert set(data) == {"status", "services", "view"}
    assert set(data["services"]) == {"database", "cache", "pusher"}
    assert data["services"]["database"] == {"status": "healthy"}
    assert data["services"]["cache"] == {"status": "healthy"}
    assert_anonymous(data["services"]["pusher"], text)


def test_33_a_wrong_or_missing_token_is_the_public_view_not_an_error(
    client: Any, with_token: str, busy_state: None
) -> None:
    for headers in (
        {},
        {"HTTP_AUTHORIZATION": "Bearer wrong"},
        {"HTTP_AUTHORIZATION": f"Bearer {TOKEN[:-1]}"},
        {"HTTP_AUTHORIZATION": f"Token {TOKEN}"},
        {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}x"},
        {"HTTP_AUTHORIZATION": "Bearer"},
    ):
        assert_anonymous(*status_of(client, **headers))


def test_33_a_non_staff_user_gets_the_public_view(
    client: Any, make_user: Any, busy_state: None
) -> None:
    client.force_login(make_user("teacher1", role="teacher"))
    assert_anonymous(*status_of(client))


# --- authorized -----------------------------------------------------------------------------


def assert_full(data: dict[str, Any]) -> None:
    assert data["view"] == "full"
    assert set(data) >= {"active_channels", "rate_limit_remaining", "messages_today", "checks"}
    assert data["active_channels"] == sorted(HIDDEN_NAMES)
    assert data["checks"]["configuration"]["backend"] == "LocmemBackend"


def test_a_staff_user_gets_the_full_report(client: Any, make_user: Any, busy_state: None) -> None:
    client.force_login(make_user("ops", is_staff=True))
    assert_full(status_of(client)[0])


def test_the_health_token_gets_the_full_report(
    client: Any, with_token: str, busy_state: None
) -> None:
    data, _ = status_of(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert_full(data)
    response = client.get(HEALTH_URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    full = response.json()["data"]
    assert full["view"] == "full"
    assert full["services"]["database"]["message"] == "available"
    assert_full(full["services"]["pusher"])


def test_no_token_configured_means_no_bearer_is_accepted(client: Any, busy_state: None) -> None:
    # HEALTH_TOKEN is None by default: even "Bearer None" or an empty bearer is anonymous.
    for value in ("Bearer None", "Bearer ", "Bearer null"):
        assert_anonymous(*status_of(client, HTTP_AUTHORIZATION=value))


def test_the_cached_report_never_leaks_to_the_next_caller(
    client: Any, make_user: Any, with_token: str, busy_state: None
) -> None:
    # Warm the cache as an authorized caller, then ask anonymously (and back).
    assert_full(status_of(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")[0])
    assert_anonymous(*status_of(client))
    assert_full(status_of(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")[0])
    assert_anonymous(*status_of(client))


def test_the_token_is_never_logged(
    client: Any, with_token: str, busy_state: None, caplog: Any
) -> None:
    with caplog.at_level(logging.DEBUG):
        status_of(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        status_of(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN[:-1]}")
        client.get(HEALTH_URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert TOKEN[:-1] not in caplog.text


# --- the system check ------------------------------------------------------------------------


def health_token_errors() -> list[str]:
    return [m.id for m in run_checks() if m.id and m.id.startswith("toolbox_realtime.E02")]


@pytest.mark.parametrize(
    "token", ["short", "changeme", "your_secret_key", "x" * 31, 12345, ["a" * 40]]
)
def test_a_placeholder_or_short_health_token_is_an_error(settings: Any, token: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "HEALTH_TOKEN": token}
    errors = [m for m in run_checks() if m.id == "toolbox_realtime.E020"]
    assert len(errors) == 1
    assert "HEALTH_TOKEN" in errors[0].msg
    assert str(token) not in errors[0].msg  # the check never echoes the token


@pytest.mark.parametrize("token", [None, TOKEN])
def test_no_token_or_a_long_random_one_passes_the_check(settings: Any, token: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "HEALTH_TOKEN": token}
    assert "toolbox_realtime.E020" not in health_token_errors()


def test_filtering_costs_no_query(client: Any, with_token: str, busy_state: None) -> None:
    client.get(STATUS_URL)  # computed and cached
    for headers in ({}, {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}, {"HTTP_AUTHORIZATION": "x"}):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(STATUS_URL, **headers).status_code == 200
        assert len(queries) == 0


def test_the_answer_varies_on_who_asks(client: Any) -> None:
    for url in (STATUS_URL, HEALTH_URL):
        vary = client.get(url)["Vary"]
        assert "Authorization" in vary and "Cookie" in vary
