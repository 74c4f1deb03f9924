"""Health is real-time (issue 8 item 4): once the webhook of a join or a vacated
channel has arrived, ``/health/pusher/status`` shows it at once. When webhooks
flow, the stored state is the source and the server snapshot checks it
(``state_matches_server``); the snapshot stands in when webhooks are not set up.

End to end: a real soketi sends real webhooks to the Django live server, and a
real WebSocket client subscribes and leaves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from django_toolbox_realtime import state
from django_toolbox_realtime.models import ChannelState, WebhookDelivery
from tests.conftest import realtime_for
from tests.pusher_ws import PusherWSClient
from tests.soketi import SoketiServer
from tests.webhooks.conftest import STATUS_URL
from tests.webhooks.health_auth import TOKEN, full_status
from tests.webhooks.test_integration import serve_webhooks

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def webhook_soketi(webhook_live_server: str) -> Iterator[SoketiServer]:
    yield from serve_webhooks(webhook_live_server, ["channel_occupied", "channel_vacated"])


@pytest.fixture
def realtime(webhook_soketi: SoketiServer, settings: Any) -> SoketiServer:
    settings.TOOLBOX_REALTIME = realtime_for(webhook_soketi, HEALTH_TOKEN=TOKEN)
    return webhook_soketi


def test_a_vacated_channel_leaves_health_as_soon_as_its_webhook_arrived(
    client: Any, realtime: SoketiServer
) -> None:
    channel = "public-realtime-vacated"
    ws = PusherWSClient(realtime.ws_url).connect()
    try:
        ws.subscribe(channel)
        wait_until(lambda: channel in state.active_channels(), what="channel_occupied stored")
        # The server snapshot (kept HEALTH_CACHE_SECONDS) now lists the channel.
        assert channel in full_status(client)["active_channels"]
    finally:
        ws.close()
    wait_until(lambda: channel not in state.active_channels(), what="channel_vacated stored")
    stored_at = time.monotonic()
    data = full_status(client)
    listed_for = time.monotonic() - stored_at
    assert channel not in data["active_channels"], f"still listed after {listed_for:.3f} s"
    assert data["source"] == "state"
    assert data["checks"]["webhooks"]["state_matches_server"] is True


def test_a_join_shows_in_health_as_soon_as_its_webhook_arrived(
    client: Any, realtime: SoketiServer
) -> None:
    channel = "public-realtime-joined"
    assert channel not in full_status(client)["active_channels"]  # snapshot taken now
    ws = PusherWSClient(realtime.ws_url).connect()
    try:
        ws.subscribe(channel)
        wait_until(lambda: channel in state.active_channels(), what="channel_occupied stored")
        data = full_status(client)
        assert channel in data["active_channels"]
        assert data["total_channels"] == len(data["active_channels"])
        assert data["source"] == "state"
        assert data["checks"]["webhooks"]["state_matches_server"] is True
    finally:
        ws.close()
    wait_until(lambda: channel not in state.active_channels(), what="channel_vacated stored")


def test_without_webhooks_the_server_snapshot_stands_in(
    client: Any, soketi: SoketiServer, ws_client: Any, settings: Any
) -> None:
    # The session's soketi sends no webhooks: the stored state knows nothing.
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "HEALTH_TOKEN": TOKEN}
    ws = ws_client()
    ws.subscribe("public-no-webhooks")
    data = full_status(client)
    assert data["source"] == "server"
    assert "public-no-webhooks" in data["active_channels"]
    assert data["checks"]["webhooks"]["state_matches_server"] is False
    # Webhooks that are simply not configured are not something to fix.
    assert data["status"] == "healthy"


def test_35_an_anonymous_socket_inventing_public_channels_stores_at_most_the_cap(
    client: Any, realtime: SoketiServer, settings: Any
) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "STATE_MAX_PUBLIC_CHANNELS": 10}
    names = [f"invented-{i:02d}" for i in range(50)]
    ws = PusherWSClient(realtime.ws_url).connect()
    try:
        for name in names:
            ws.subscribe(name, wait=False)
        ws.wait_for_count("pusher_internal:subscription_succeeded", len(names))
        # Every channel_occupied webhook has been handled: the 50th name is the last.
        wait_until(
            lambda: (
                ChannelState.objects.count() >= 10
                and WebhookDelivery.objects.filter(event_names="channel_occupied").count() >= 50
            ),
            what="50 channel_occupied webhooks handled",
        )
        assert ChannelState.objects.filter(name__startswith="invented-").count() == 10
        # The server still has all 50: health shows its count to an authorized caller.
        data = full_status(client)
        assert data["total_channels"] == 50 and data["source"] == "server"
        anonymous = client.get(STATUS_URL)
        assert "invented-" not in anonymous.content.decode()
        assert anonymous.json()["data"]["total_channels"] == 50
    finally:
        ws.close()
    wait_until(
        lambda: WebhookDelivery.objects.filter(event_names="channel_vacated").count() >= 50,
        what="50 channel_vacated webhooks handled",
    )
    assert ChannelState.objects.filter(name__startswith="invented-").count() <= 10
