"""Health as staff and monitors see it: the monitoring token, and requests with it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.webhooks.conftest import STATUS_URL, secret_free

#: HEALTH_TOKEN of the health tests (long and random enough for the system check).
TOKEN = "monitor-7c1f0e9a5b3d4c2e8f6a1b0d9c8e7f6a"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture
def monitor_token(settings: Any) -> str:
    """HEALTH_TOKEN set for this test (before fixtures that copy the settings)."""
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "HEALTH_TOKEN": TOKEN}
    return TOKEN


def get_full_status(client: Any, url: str = STATUS_URL) -> tuple[int, dict[str, Any]]:
    """GET health with the token: (HTTP status, data in full), checked for secrets."""
    response = client.get(url, **AUTH)
    secret_free(response)
    body = response.json()
    assert body["success"] is True
    assert body["data"]["view"] == "full"
    return response.status_code, body["data"]


def full_status(client: Any) -> dict[str, Any]:
    """The full data of /health/pusher/status, which must answer 200."""
    code, data = get_full_status(client)
    assert code == 200
    return data
