"""Health endpoints: shape, statuses and HTTP codes, sources, the server-call bound
(SECURITY_CASES 28) and that no secret ever shows."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache.backends.base import BaseCache

from django_toolbox_realtime import trigger_event
from django_toolbox_realtime.delivery import usage
from django_toolbox_realtime.health import checks, server
from tests.conftest import PUSHER_BACKEND, realtime_for
from tests.webhooks.conftest import (
    HEALTH_URL,
    STATUS_URL,
    Requests,
    run_together,
    secret_free,
)
from tests.webhooks.health_auth import AUTH, get_full_status, monitor_token  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("monitor_token")]
get_status = get_full_status  # these tests read the whole report (see test_health_access)

BRIEF_KEYS = {
    "status",
    "connected_users",
    "total_channels",
    "active_channels",
    "rate_limit_remaining",
    "pusher_enabled",
}


# --- with the real server ---------------------------------------------------------------------


@pytest.mark.integration
def test_healthy_with_the_brief_shape(
    client: Any, soketi: Any, ws_client: Any, post_webhook: Any
) -> None:
    ws = ws_client()
    ws.subscribe("public-dashboard")
    post_webhook([{"name": "member_added", "channel": "presence-x", "user_id": "1"}])
    code, data = get_status(client)
    assert code == 200
    assert set(data) >= BRIEF_KEYS
    assert data["status"] == "healthy" and data["pusher_enabled"] is True
    assert data["source"] == "server"
    assert "public-dashboard" in data["active_channels"]
    assert data["total_channels"] == len(data["active_channels"]) >= 1
    assert data["rate_limit_remaining"] == 200_000
    assert set(data["checks"]) >= {"configuration", "server", "webhooks", "budget"}
    assert data["checks"]["server"]["status"] == "ok"
    assert data["checks"]["server"]["latency_ms"] >= 0
    # presence-x is not occupied on the server: its stored member is not counted.
    assert data["connected_users"] == 0


@pytest.mark.integration
def test_28_polling_asks_the_server_once_per_cache_period(
    client: Any, soketi: Any, requests_made: Requests, clock: list[float]
) -> None:
    # A probe every 100 ms for 30 s (simulated time), HEALTH_CACHE_SECONDS = 10.
    for _ in range(300):
        code, data = get_status(client)
        assert code == 200 and data["status"] == "healthy"
        clock[0] += 0.1
    assert len(requests_made.calls) == 3
    assert set(requests_made.calls) == {("GET", "/channels")}


@pytest.mark.integration
def test_28_the_period_is_a_setting(
    client: Any, soketi: Any, settings: Any, requests_made: Requests, clock: list[float]
) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "HEALTH_CACHE_SECONDS": 2}
    for _ in range(100):  # 10 s
        get_status(client)
        clock[0] += 0.1
    assert len(requests_made.calls) == 5


@pytest.mark.integration
def test_28_concurrent_cold_probes_make_one_request(soketi: Any, requests_made: Requests) -> None:
    results = run_together([server.snapshot] * 20)
    assert all(isinstance(r, dict) and r["ok"] for r in results), results
    assert len(requests_made.calls) == 1


@pytest.mark.integration
def test_wrong_secret_is_unhealthy_without_showing_it(
    client: Any, soketi: Any, settings: Any
) -> None:
    settings.TOOLBOX_REALTIME = realtime_for(soketi, SECRET=django_settings.TEST_SECRET + "x")
    response = client.get(STATUS_URL, **AUTH)
    assert response.status_code == 503
    text = response.content.decode()
    assert django_settings.TEST_SECRET not in text and "Traceback" not in text
    data = response.json()["data"]
    assert data["status"] == "unhealthy"
    assert "401" in data["checks"]["server"]["message"]


@pytest.mark.integration
def test_degraded_is_200(client: Any, soketi: Any, settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "DAILY_MESSAGE_BUDGET": 5}
    usage.record_messages(5)
    code, data = get_status(client)
    assert (code, data["status"]) == (200, "degraded")
    assert data["rate_limit_remaining"] == 0
    assert data["checks"]["budget"]["status"] == "warning"


@pytest.mark.integration
def test_a_rejected_webhook_is_counted_but_alone_does_not_degrade(
    client: Any, soketi: Any, post_webhook: Any
) -> None:
    # Anyone can send one (SECURITY_CASES 34; see test_health_noise for when it does).
    assert post_webhook([{"name": "cache_miss", "channel": "x"}], secret="wrong").status_code == 401
    code, data = get_status(client)
    assert (code, data["status"]) == (200, "healthy")
    assert data["checks"]["webhooks"]["rejected_last_hour"] == 1
    assert data["checks"]["webhooks"]["last_outcome"] == "rejected"


# --- without a server -------------------------------------------------------------------------


def test_unreachable_server_is_unhealthy_and_counts_come_from_state(
    client: Any, unreachable: None, post_webhook: Any
) -> None:
    post_webhook(
        [
            {"name": "channel_occupied", "channel": "presence-classroom-101"},
            {"name": "member_added", "channel": "presence-classroom-101", "user_id": "1"},
            {"name": "member_added", "channel": "presence-classroom-101", "user_id": "2"},
        ]
    )
    code, data = get_status(client)
    assert code == 503 and data["status"] == "unhealthy"
    assert data["source"] == "state"
    assert data["active_channels"] == ["presence-classroom-101"]
    assert data["total_channels"] == 1 and data["connected_users"] == 2
    assert data["checks"]["server"]["message"] == "the server could not be reached"


@pytest.mark.parametrize("secret", ["", None, "your_secret_key", "changeme"])
def test_missing_or_placeholder_secret_is_unhealthy_and_server_not_asked(
    client: Any, settings: Any, requests_made: Requests, secret: str | None
) -> None:
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "SECRET": secret,
        "BACKEND": PUSHER_BACKEND,
    }
    code, data = get_status(client)
    assert code == 503 and data["status"] == "unhealthy"
    assert data["checks"]["configuration"]["status"] == "error"
    assert "SECRET" in data["checks"]["configuration"]["message"]
    assert data["checks"]["server"]["status"] == "skipped"
    assert requests_made.calls == []
    if secret:
        assert secret not in client.get(STATUS_URL, **AUTH).content.decode()


def test_disabled_is_200_and_asks_nothing(
    client: Any, settings: Any, requests_made: Requests
) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "ENABLED": False}
    code, data = get_status(client)
    assert code == 200
    assert data["status"] == "disabled" and data["pusher_enabled"] is False
    assert requests_made.calls == []
    response = client.get(HEALTH_URL, **AUTH)
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "healthy"


def test_locmem_backend_does_not_need_a_server(client: Any, requests_made: Requests) -> None:
    code, data = get_status(client)
    assert (code, data["status"]) == (200, "healthy")
    assert data["checks"]["server"]["status"] == "skipped"
    assert requests_made.calls == []


def test_rate_limit_remaining_counts_messages_sent_today(client: Any) -> None:
    trigger_event(channels=["public-a", "public-b"], event="e", data={})  # 2 messages
    trigger_event(channel="public-a", event="e", data={})
    _, data = get_status(client)
    assert data["rate_limit_remaining"] == 200_000 - 3
    assert data["messages_today"] == 3


def test_active_channels_list_is_capped_but_counted(
    client: Any, settings: Any, post_webhook: Any
) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "HEALTH_MAX_CHANNELS_LISTED": 3}
    post_webhook([{"name": "channel_occupied", "channel": f"c-{i}"} for i in range(5)])
    _, data = get_status(client)
    assert data["total_channels"] == 5
    assert data["active_channels"] == ["c-0", "c-1", "c-2"]
    assert data["active_channels_truncated"] is True


class ExplodingCheck(checks.BaseCheck):
    name = "exploding"

    def run(self) -> checks.CheckResult:
        raise RuntimeError(f"boom with {django_settings.TEST_SECRET}")


def test_a_crashing_check_reports_a_generic_error(client: Any, settings: Any, caplog: Any) -> None:
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "HEALTH_CHECKS": [
            *settings.TOOLBOX_REALTIME.get(
                "HEALTH_CHECKS", ["django_toolbox_realtime.health.checks.ConfigurationCheck"]
            ),
            "tests.webhooks.test_health.ExplodingCheck",
        ],
    }
    code, data = get_status(client)
    assert code == 503
    assert data["checks"]["exploding"] == {
        "status": "error",
        "message": "unexpected error (see the logs)",
    }
    assert "boom" in caplog.text  # the details go to the log, not the response


# --- /health ----------------------------------------------------------------------------------


def test_project_health_has_database_cache_and_pusher(client: Any) -> None:
    response = client.get(HEALTH_URL, **AUTH)
    assert response.status_code == 200
    secret_free(response)
    data = response.json()["data"]
    assert data["status"] == "healthy"
    assert set(data["services"]) == {"database", "cache", "pusher"}
    assert data["services"]["database"]["status"] == "healthy"
    assert data["services"]["cache"]["status"] == "healthy"
    assert set(data["services"]["pusher"]) >= BRIEF_KEYS


def test_project_health_is_503_when_pusher_is_unhealthy(client: Any, unreachable: None) -> None:
    response = client.get(HEALTH_URL + "/", **AUTH)
    assert response.status_code == 503
    assert response.json()["data"]["status"] == "unhealthy"
    assert response.json()["data"]["services"]["database"]["status"] == "healthy"


class BrokenCache(BaseCache):
    """A cache whose server is down."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache server down at redis://:hunter2@10.0.0.1")

    add = get = set = delete = incr = clear = touch = _fail


def test_cache_outage_is_reported_and_health_still_answers(
    client: Any, settings: Any, unreachable: None, requests_made: Requests
) -> None:
    settings.CACHES = {"default": {"BACKEND": "tests.webhooks.test_health.BrokenCache"}}
    response = client.get(HEALTH_URL, **AUTH)
    assert response.status_code == 503
    text = response.content.decode()
    assert "hunter2" not in text
    services = response.json()["data"]["services"]
    assert services["cache"]["status"] == "unhealthy"
    assert services["cache"]["message"] == "cache unavailable (ConnectionError)"
    # The server-call bound still holds, on a per-process store.
    client.get(HEALTH_URL, **AUTH)
    assert len(requests_made.calls) == 1


def test_health_is_get_only_and_never_cached_by_proxies(client: Any) -> None:
    assert client.post(STATUS_URL).status_code == 405
    response = client.get(STATUS_URL, **AUTH)
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
