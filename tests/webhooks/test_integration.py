"""End to end: a real soketi sends real webhooks to the Django live server.

A real WebSocket client joins ``presence-classroom-101``; within a few seconds the
member is stored, ``member_added`` has fired and ``/health/pusher/status`` lists
the channel. The client disconnects; the member is removed and
``channel_vacated`` fires. Run once with soketi's webhook batching off (one
request per event) and once on (several events per request).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings

from django_toolbox_realtime import state
from django_toolbox_realtime.models import PresenceMember, WebhookDelivery
from tests.conftest import realtime_for
from tests.pusher_ws import PusherWSClient
from tests.soketi import SoketiServer
from tests.webhooks.conftest import join_presence
from tests.webhooks.health_auth import TOKEN as HEALTH_TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLASSROOM = "presence-classroom-101"
EVENT_TYPES = [
    "channel_occupied",
    "channel_vacated",
    "member_added",
    "member_removed",
    "client_event",
    "cache_miss",
]


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``condition`` (a database read: nothing to wait on) until it is truthy;
    fail after ``timeout`` seconds. Signals are waited for with
    ``signal_log.wait_for``, woken by each signal."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.05)


def serve_webhooks(
    webhook_live_server: str, event_types: list[str], extra_env: dict[str, str] | None = None
) -> Iterator[SoketiServer]:
    """A soketi sending ``event_types`` webhooks to the live server, for a fixture."""
    # 127.0.0.1, not "localhost": Node may resolve that to ::1, where nothing listens.
    url = webhook_live_server + "/api/v1/pusher/webhook"
    server = SoketiServer(
        django_settings.TEST_APP_ID,
        django_settings.TEST_KEY,
        django_settings.TEST_SECRET,
        webhooks=[{"url": url, "event_types": event_types}],
        extra_env=extra_env or {},
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=[False, True], ids=["one-per-request", "batched"])
def webhook_soketi(request: Any, webhook_live_server: str) -> Iterator[SoketiServer]:
    extra = {"SOKETI_WEBHOOKS_BATCHING": "true", "SOKETI_WEBHOOKS_BATCHING_DURATION": "100"}
    yield from serve_webhooks(webhook_live_server, EVENT_TYPES, extra if request.param else None)


@pytest.fixture
def realtime(webhook_soketi: SoketiServer, settings: Any) -> SoketiServer:
    settings.TOOLBOX_REALTIME = realtime_for(webhook_soketi, HEALTH_TOKEN=HEALTH_TOKEN)
    return webhook_soketi


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    """GET as a monitor with the health token (health in full)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {HEALTH_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def delivered_names() -> str:
    return ", ".join(WebhookDelivery.objects.values_list("event_names", flat=True))


def test_real_webhooks_track_presence(
    realtime: SoketiServer, webhook_live_server: str, signal_log: Any
) -> None:
    ws = PusherWSClient(realtime.ws_url).connect()
    try:
        join_presence(ws, CLASSROOM, "student-1", realtime)

        wait_until(lambda: state.online_users(CLASSROOM) == ["student-1"], what="member stored")
        wait_until(lambda: CLASSROOM in state.active_channels(), what="channel occupied")
        signal_log.wait_for(lambda: signal_log.of("member_added"), what="member_added signal")
        added = signal_log.of("member_added")[0]
        assert (added["channel"], added["user_id"], added["reason"]) == (
            CLASSROOM,
            "student-1",
            "webhook",
        )
        assert added["event"]["name"] == "member_added"

        code, body = get_json(webhook_live_server + "/health/pusher/status")
        assert code == 200 and body["success"] is True
        data = body["data"]
        # Webhooks flow: the stored state is the source, checked against the server.
        assert data["status"] == "healthy" and data["source"] == "state"
        assert data["checks"]["webhooks"]["state_matches_server"] is True
        assert CLASSROOM in data["active_channels"]
        assert data["connected_users"] == 1
        assert data["checks"]["webhooks"]["last_outcome"] == "accepted"
    finally:
        ws.close()

    wait_until(lambda: state.online_users(CLASSROOM) == [], what="member removed")
    signal_log.wait_for(
        lambda: "channel_vacated" in signal_log.names(), what="channel_vacated signal"
    )
    # soketi sends channel_vacated a moment before member_removed: wait until every
    # webhook has arrived, so the assertions below also see what the last one did.
    wait_until(
        lambda: all(
            event in delivered_names()
            for event in ("channel_occupied", "member_added", "member_removed", "channel_vacated")
        ),
        what="every webhook delivered",
    )
    assert state.active_channels() == []
    assert [k["user_id"] for k in signal_log.of("member_removed")] == ["student-1"]
    assert len(signal_log.of("member_added")) == 1
    assert PresenceMember.objects.get(channel=CLASSROOM).left_at is not None
    # They all came as signed webhooks from soketi, and were accepted.
    outcomes = set(WebhookDelivery.objects.values_list("outcome", flat=True))
    assert outcomes == {"accepted"}


def test_two_members_and_one_leaves(
    realtime: SoketiServer, webhook_live_server: str, signal_log: Any
) -> None:
    first = PusherWSClient(realtime.ws_url).connect()
    second = PusherWSClient(realtime.ws_url).connect()
    try:
        join_presence(first, CLASSROOM, "student-1", realtime)
        join_presence(second, CLASSROOM, "teacher-1", realtime)
        wait_until(
            lambda: state.online_users(CLASSROOM) == ["student-1", "teacher-1"],
            what="both members stored",
        )
        second.close()
        wait_until(lambda: state.online_users(CLASSROOM) == ["student-1"], what="teacher removed")
        assert CLASSROOM in state.active_channels()
        assert "channel_vacated" not in signal_log.names()
        assert len(signal_log.of("channel_occupied")) == 1
    finally:
        first.close()
        second.close()
    wait_until(lambda: state.active_channels() == [], what="channel vacated")
