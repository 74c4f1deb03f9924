"""The computed Pusher status is kept for HEALTH_CACHE_SECONDS: warm requests are
cheap, and it never shows the stored state from before a webhook changed it."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_toolbox_realtime.delivery import server_api
from django_toolbox_realtime.health import server, status_cache
from django_toolbox_realtime.state import version as state_version
from tests.conftest import PUSHER_BACKEND
from tests.webhooks.conftest import (
    HEALTH_URL,
    STATUS_URL,
    Requests,
    added,
    client_event,
    make_body,
    occupied,
)
from tests.webhooks.health_auth import AUTH, get_full_status, monitor_token  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("monitor_token")]
get_status = get_full_status  # these tests read the whole report (see test_health_access)

CH = "presence-cached"
JOIN = [occupied(CH), added("1", CH)]


def queries_of(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, **AUTH).status_code == 200
    return len(queries)


def test_a_warm_status_is_one_cache_read_and_no_query(client: Any) -> None:
    assert queries_of(client, STATUS_URL) > 0  # computed: the checks query
    assert queries_of(client, STATUS_URL) == 0


def test_health_keeps_its_database_check_live(client: Any) -> None:
    client.get(HEALTH_URL, **AUTH)
    # The Pusher part is cached; the database check still runs SELECT 1.
    assert queries_of(client, HEALTH_URL) == 1


def test_a_webhook_that_changes_state_drops_the_cached_status(
    client: Any, post_webhook: Any
) -> None:
    _, before = get_status(client)
    assert before["active_channels"] == [] and before["connected_users"] == 0
    assert post_webhook(JOIN).status_code == 200
    _, after = get_status(client)
    assert after["source"] == "state"
    assert after["active_channels"] == [CH] and after["connected_users"] == 1


def test_a_webhook_that_changes_nothing_keeps_the_cached_status(
    client: Any, post_webhook: Any
) -> None:
    body = make_body(JOIN)
    post_webhook(body)
    get_status(client)
    post_webhook(body)  # a duplicate
    post_webhook(JOIN)  # the same facts again: no transition
    assert queries_of(client, STATUS_URL) == 0


def test_a_client_event_keeps_the_cached_status(
    client: Any, post_webhook: Any, monkeypatch: Any
) -> None:
    # Relayed events (client_event, cache_miss) change no stored row: no cache write.
    post_webhook(JOIN)
    get_status(client)
    writes: list[Any] = []
    monkeypatch.setattr(state_version, "bump", lambda: writes.append(1))
    post_webhook([client_event(CH), {"name": "cache_miss", "channel": "private-cache-x"}])
    assert writes == []
    assert queries_of(client, STATUS_URL) == 0


def test_a_sync_that_changes_state_drops_the_cached_status(
    client: Any, post_webhook: Any, monkeypatch: Any
) -> None:
    post_webhook(JOIN)
    _, before = get_status(client)
    assert before["active_channels"] == [CH]
    monkeypatch.setattr(server_api, "fetch_channels", lambda prefix=None: {})
    call_command("realtime_sync", stdout=StringIO())  # the server says: all gone
    _, after = get_status(client)
    assert after["active_channels"] == [] and after["connected_users"] == 0


def test_a_sync_that_changes_nothing_keeps_the_cached_status(
    client: Any, post_webhook: Any, monkeypatch: Any
) -> None:
    post_webhook(JOIN)
    get_status(client)
    monkeypatch.setattr(server_api, "fetch_channels", lambda prefix=None: {CH: {}})
    monkeypatch.setattr(server_api, "fetch_users", lambda channel: ["1"])
    call_command("realtime_sync", stdout=StringIO())
    assert queries_of(client, STATUS_URL) == 0


def test_the_cached_status_expires_after_the_period(client: Any, clock: list[float]) -> None:
    get_status(client)
    clock[0] += 9.9
    assert queries_of(client, STATUS_URL) == 0
    clock[0] += 0.2
    assert queries_of(client, STATUS_URL) > 0


def test_a_settings_change_is_shown_at_once(client: Any, settings: Any) -> None:
    assert get_status(client)[1]["status"] == "healthy"
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "ENABLED": False}
    assert get_status(client)[1]["status"] == "disabled"


def test_a_status_computed_before_a_state_change_is_never_served_after_it() -> None:
    # A health request reads the version, computes from the old state; meanwhile a
    # webhook commits and writes a new version; then the request stores its result.
    cached, version = status_cache.lookup()
    assert cached is None
    state_version.bump()
    status_cache.store({"status": "from before"}, version, server.clock())
    assert status_cache.lookup()[0] is None
    # Stored under the current version, it is served.
    _, current = status_cache.lookup()
    status_cache.store({"status": "current"}, current, server.clock())
    assert status_cache.lookup()[0] == {"status": "current"}


def test_a_status_without_the_servers_answer_is_not_kept(
    client: Any, settings: Any, monkeypatch: Any
) -> None:
    # Another probe is asking the server and did not answer within the wait.
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "BACKEND": PUSHER_BACKEND,
    }
    pending = {
        "ok": False,
        "latency_ms": None,
        "channels": {},
        "cached": True,
        "error": "a server check is in progress",
        "age_seconds": None,
    }
    monkeypatch.setattr(server, "snapshot", lambda: dict(pending))
    get_status(client)
    assert status_cache.lookup()[0] is None


@pytest.mark.integration
def test_the_cached_status_never_outlives_the_server_snapshot_it_shows(
    client: Any, soketi: Any, clock: list[float], requests_made: Requests
) -> None:
    server.snapshot()  # fetched at t = 0 (by another probe, say)
    clock[0] += 5
    _, data = get_status(client)  # computed at t = 5 from that snapshot
    assert data["checks"]["server"]["age_seconds"] == 5.0
    clock[0] += 5.1  # t = 10.1: the snapshot is stale, so is the status showing it
    _, data = get_status(client)
    assert data["checks"]["server"]["age_seconds"] == 0.0
    assert len(requests_made.calls) == 2
