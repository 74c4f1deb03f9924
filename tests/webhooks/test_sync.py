"""``manage.py realtime_sync`` repairs the stored state from the server's HTTP API."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_toolbox_realtime import signals, state
from django_toolbox_realtime.delivery import server_api
from django_toolbox_realtime.models import ChannelState, PresenceMember
from tests.webhooks.conftest import added, join_presence, now_ms, occupied

pytestmark = pytest.mark.django_db

CLASSROOM = "presence-classroom-101"


def sync(*args: str) -> str:
    out = StringIO()
    call_command("realtime_sync", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def stale_state(post_webhook: Any) -> None:
    """What the app believes after lost webhooks: a channel that has emptied, and
    none of the real members."""
    post_webhook(
        [
            {"name": "channel_occupied", "channel": "presence-gone"},
            {"name": "member_added", "channel": "presence-gone", "user_id": "9"},
            {"name": "member_added", "channel": CLASSROOM, "user_id": "ghost"},
        ],
        time_ms=now_ms() - 60_000,
    )


@pytest.mark.integration
def test_sync_repairs_channels_and_members(
    soketi: Any, ws_client: Any, stale_state: None, signal_log: Any
) -> None:
    alice, bob = ws_client(), ws_client()
    join_presence(alice, CLASSROOM, "1", soketi)
    join_presence(bob, CLASSROOM, "2", soketi)
    bob.subscribe("public-dashboard")
    signal_log.calls.clear()

    out = sync()
    assert state.active_channels() == sorted([CLASSROOM, "public-dashboard"])
    assert state.online_users(CLASSROOM) == ["1", "2"]
    assert state.online_users("presence-gone") == []
    assert "occupied 2, vacated 1, members added 2, removed 2" in out
    names = sorted(signal_log.names())
    assert names == sorted(
        [
            "channel_occupied",
            "channel_occupied",
            "channel_vacated",
            "member_added",
            "member_added",
            "member_removed",
            "member_removed",
        ]
    )
    assert {k["reason"] for k in signal_log.of("member_added")} == {"sync"}
    assert ChannelState.objects.get(name="public-dashboard").subscription_count == 1

    # Nothing left to repair: a second run changes and signals nothing.
    signal_log.calls.clear()
    assert "occupied 0, vacated 0, members added 0, removed 0" in sync()
    assert signal_log.calls == []


@pytest.mark.integration
def test_dry_run_changes_nothing(
    soketi: Any, ws_client: Any, stale_state: None, signal_log: Any
) -> None:
    join_presence(ws_client(), CLASSROOM, "1", soketi)
    signal_log.calls.clear()
    before = list(PresenceMember.objects.values_list("channel", "user_id", "left_at"))
    out = sync("--dry-run")
    assert "Would vacate: ['presence-gone']" in out
    assert "would add ['1'], remove ['ghost']" in out
    assert list(PresenceMember.objects.values_list("channel", "user_id", "left_at")) == before
    assert signal_log.calls == []


@pytest.mark.integration
def test_no_signals_option(soketi: Any, ws_client: Any, signal_log: Any) -> None:
    join_presence(ws_client(), CLASSROOM, "1", soketi)
    sync("--no-signals")
    assert state.online_users(CLASSROOM) == ["1"]
    assert signal_log.calls == []


@pytest.mark.integration
def test_prefix_limits_the_repair(soketi: Any, ws_client: Any, stale_state: None) -> None:
    join_presence(ws_client(), CLASSROOM, "1", soketi)
    sync("--prefix", "presence-classroom-")
    assert state.online_users(CLASSROOM) == ["1"]
    assert state.online_users("presence-gone") == ["9"]  # outside the prefix: untouched


def test_unreachable_server_is_a_clear_error_without_the_secret(unreachable: None) -> None:
    with pytest.raises(CommandError) as error:
        sync()
    assert "cannot reach 127.0.0.1:9" in str(error.value)
    assert django_settings.TEST_SECRET not in str(error.value)


def test_reconcile_leaves_rows_newer_than_the_snapshot(post_webhook: Any) -> None:
    t = now_ms()
    post_webhook(
        [
            {"name": "channel_occupied", "channel": "presence-new"},
            {"name": "member_added", "channel": "presence-new", "user_id": "1"},
        ],
        time_ms=t,
    )
    # A snapshot taken before that webhook says the channel is empty.
    report = state.reconcile({}, {}, at_ms=t - 1000)
    assert report.vacated == [] and report.left == []
    assert state.online_users("presence-new") == ["1"]
    report = state.reconcile({}, {}, at_ms=t + 1000)
    assert report.vacated == ["presence-new"]
    assert state.online_users("presence-new") == []
    assert [c.signal for c in report.changes] == [signals.channel_vacated, signals.member_removed]


def test_a_sync_with_nothing_to_change_makes_a_few_queries_whatever_the_channels(
    post_webhook: Any, monkeypatch: Any, signal_log: Any
) -> None:
    server: dict[str, dict[str, Any]] = {}
    monkeypatch.setattr(server_api, "fetch_channels", lambda prefix=None: dict(server))
    monkeypatch.setattr(server_api, "fetch_users", lambda channel: ["1", "2"])

    def quiet_sync_queries(channels: int) -> list[str]:
        """Channels 0..channels-1 occupied with members 1 and 2, stored and on the
        server: the statements of a sync that has nothing to repair."""
        t = now_ms()
        for i in range(channels):
            name = f"presence-sync-{i}"
            server[name] = {"subscription_count": 2}
            post_webhook([occupied(name), added("1", name), added("2", name)], time_ms=t)
        sync()  # fills subscription_count
        signal_log.calls.clear()
        with CaptureQueriesContext(connection) as queries:
            assert "occupied 0, vacated 0, members added 0, removed 0" in sync()
        assert signal_log.calls == []
        return [q["sql"] for q in queries.captured_queries]

    few, many = quiet_sync_queries(2), quiet_sync_queries(25)
    assert len(many) == len(few) <= 15, many
    # Nothing changed, so nothing is written (an unchanged subscription_count neither).
    # (executemany is logged as "<n> times: UPDATE ...")
    assert not any("UPDATE " in sql.upper() for sql in many), many
