"""State kept from webhooks: transitions, signals, ordering, grace period, pruning."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS
from django.urls import resolve
from django.utils import timezone

from django_toolbox_realtime import signals, state
from django_toolbox_realtime.models import ChannelState, PresenceMember, WebhookDelivery
from django_toolbox_realtime.webhooks import log as webhook_log
from tests.webhooks.conftest import (
    CH,
    WEBHOOK_URL,
    added,
    client_event,
    now_ms,
    occupied,
    removed,
    vacated,
)

pytestmark = pytest.mark.django_db


def test_join_and_leave_store_state_and_send_signals(post_webhook: Any, signal_log: Any) -> None:
    t = now_ms()
    assert post_webhook([occupied(), added("1"), added("2")], time_ms=t).status_code == 200
    assert state.active_channels() == [CH]
    assert state.online_users(CH) == ["1", "2"]
    row = ChannelState.objects.get(name=CH)
    assert row.occupied and row.occupied_since is not None and row.last_time_ms == t
    assert signal_log.names() == ["channel_occupied", "member_added", "member_added"]
    kwargs = signal_log.of("member_added")[0]
    assert kwargs["channel"] == CH and kwargs["user_id"] == "1" and kwargs["time_ms"] == t
    assert kwargs["event"]["name"] == "member_added" and kwargs["reason"] == "webhook"

    assert post_webhook([removed("1")], time_ms=t + 10).status_code == 200
    assert state.online_users(CH) == ["2"]
    assert post_webhook([removed("2"), vacated()], time_ms=t + 20).status_code == 200
    assert state.online_users(CH) == [] and state.active_channels() == []
    assert signal_log.names()[3:] == ["member_removed", "member_removed", "channel_vacated"]
    assert ChannelState.objects.get(name=CH).vacated_at is not None


def test_signals_are_sent_after_the_state_is_stored(post_webhook: Any) -> None:
    seen: list[Any] = []

    def receiver(sender: Any, channel: str, user_id: str, **kwargs: Any) -> None:
        seen.append((user_id, state.online_users(channel)))

    signals.member_added.connect(receiver)
    try:
        post_webhook([added("5")])
    finally:
        signals.member_added.disconnect(receiver)
    assert seen == [("5", ["5"])]


def test_the_view_is_outside_atomic_requests() -> None:
    # Signals follow the view's own commit: an ATOMIC_REQUESTS transaction around
    # the view would commit only after them.
    view = resolve(WEBHOOK_URL).func
    assert DEFAULT_DB_ALIAS in getattr(view, "_non_atomic_requests", set())


def test_a_failing_receiver_is_logged_and_the_webhook_still_succeeds(
    post_webhook: Any, signal_log: Any, caplog: Any
) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    signals.channel_occupied.connect(broken)
    try:
        response = post_webhook([occupied(), added("1")])
    finally:
        signals.channel_occupied.disconnect(broken)
    assert response.status_code == 200
    assert state.online_users(CH) == ["1"]
    assert signal_log.names() == ["channel_occupied", "member_added"]  # others still ran
    assert "receiver bug" in caplog.text


def test_older_webhook_never_overwrites_newer_state(post_webhook: Any, signal_log: Any) -> None:
    t = now_ms()
    post_webhook([added("1")], time_ms=t)
    post_webhook([removed("1")], time_ms=t + 1000)
    # A delayed member_added from before the removal arrives last.
    late = post_webhook([added("1")], time_ms=t + 500)
    assert late.status_code == 200 and late.json()["stale"] == 1
    assert state.online_users(CH) == []
    assert signal_log.names() == ["member_added", "member_removed"]
    assert "older than the stored state" in WebhookDelivery.objects.order_by("-pk")[0].detail

    post_webhook([occupied()], time_ms=t + 2000)
    post_webhook([vacated()], time_ms=t + 1500)
    assert state.active_channels() == [CH]


def test_removal_arriving_before_its_addition(post_webhook: Any, signal_log: Any) -> None:
    # soketi sends member_added and member_removed as separate, parallel requests.
    t = now_ms()
    post_webhook([removed("1")], time_ms=t + 10)
    post_webhook([added("1")], time_ms=t)
    assert state.online_users(CH) == []
    assert signal_log.names() == ["member_removed"]


def test_repeated_events_send_one_signal_per_transition(post_webhook: Any, signal_log: Any) -> None:
    t = now_ms()
    post_webhook([occupied(), added("1")], time_ms=t)
    post_webhook([occupied(), added("1")], time_ms=t + 1)  # different body, same facts
    assert signal_log.names() == ["channel_occupied", "member_added"]
    post_webhook([removed("1"), vacated()], time_ms=t + 2)
    post_webhook([removed("1"), vacated()], time_ms=t + 3)
    assert signal_log.names()[2:] == ["member_removed", "channel_vacated"]


def test_vacated_channel_ends_presence_of_members_whose_removal_was_lost(
    post_webhook: Any, signal_log: Any
) -> None:
    t = now_ms()
    post_webhook([occupied(), added("1"), added("2"), added("3", "presence-other")], time_ms=t)
    post_webhook([vacated()], time_ms=t + 5)
    assert state.online_users(CH) == []
    assert state.online_users("presence-other") == ["3"]
    removals = signal_log.of("member_removed")
    assert sorted(k["user_id"] for k in removals) == ["1", "2"]
    assert {k["reason"] for k in removals} == {"channel_vacated"}
    # The real member_removed arriving afterwards changes nothing and signals nothing.
    post_webhook([removed("1")], time_ms=t + 5)
    assert len(signal_log.of("member_removed")) == 2


def test_other_events_send_their_signals(post_webhook: Any, signal_log: Any) -> None:
    t = now_ms()
    post_webhook(
        [
            client_event(),
            {"name": "cache_miss", "channel": "private-cache-x"},
            {"name": "subscription_count", "channel": "public-dashboard", "subscription_count": 4},
        ],
        time_ms=t,
    )
    relayed = signal_log.of("client_event")[0]
    assert relayed["event_name"] == "client-typing" and relayed["user_id"] == "7"
    assert relayed["socket_id"] == "1.2" and relayed["data"] == '{"x":1}'
    assert signal_log.of("cache_miss")[0]["channel"] == "private-cache-x"
    assert signal_log.of("subscription_count")[0]["subscription_count"] == 4
    assert ChannelState.objects.get(name="public-dashboard").subscription_count == 4


def subscription_count(count: int, ch: str = "public-dashboard") -> dict[str, Any]:
    return {"name": "subscription_count", "channel": ch, "subscription_count": count}


def test_a_subscription_count_occupies_a_new_channel_with_its_signal(
    post_webhook: Any, signal_log: Any
) -> None:
    # Subscribers on a channel not known yet occupy it through the same transition
    # as channel_occupied: its signal is sent once, and the real channel_occupied
    # that follows is not swallowed into nothing, nor sent twice.
    t = now_ms()
    post_webhook([subscription_count(3)], time_ms=t)
    assert state.active_channels() == ["public-dashboard"]
    post_webhook([occupied("public-dashboard")], time_ms=t + 1)
    post_webhook([vacated("public-dashboard")], time_ms=t + 2)
    assert signal_log.names() == ["channel_occupied", "subscription_count", "channel_vacated"]
    assert signal_log.of("channel_occupied")[0]["event"]["name"] == "subscription_count"
    assert state.active_channels() == []


def test_a_subscription_count_does_not_reoccupy_or_rewrite_a_known_channel(
    post_webhook: Any, signal_log: Any
) -> None:
    t = now_ms()
    post_webhook([occupied("public-dashboard"), vacated("public-dashboard")], time_ms=t)
    post_webhook([subscription_count(2)], time_ms=t + 1)
    assert state.active_channels() == []
    assert signal_log.names() == ["channel_occupied", "channel_vacated", "subscription_count"]
    assert ChannelState.objects.get(name="public-dashboard").subscription_count == 2


def test_numeric_user_ids_are_stored_as_strings(post_webhook: Any) -> None:
    assert post_webhook([{"name": "member_added", "channel": CH, "user_id": 42}]).status_code == 200
    assert state.online_users(CH) == ["42"]


def test_connected_user_count_is_distinct_users(post_webhook: Any) -> None:
    post_webhook([added("1"), added("2"), added("1", "presence-b"), added("3", "presence-b")])
    assert state.connected_user_count() == 3
    assert state.connected_user_count(["presence-b"]) == 2


# --- grace period -----------------------------------------------------------------------------


@pytest.fixture
def grace(settings: Any) -> int:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "PRESENCE_GRACE_SECONDS": 5}
    return 5


def test_grace_period_page_reload_does_not_flap(
    grace: int, post_webhook: Any, signal_log: Any
) -> None:
    t = now_ms()
    post_webhook([occupied(), added("1")], time_ms=t)
    post_webhook([removed("1"), vacated()], time_ms=t + 100)
    # Within the grace period the user is still online, the channel still active.
    assert state.online_users(CH) == ["1"] and state.active_channels() == [CH]
    assert PresenceMember.objects.get().leaving_at is not None
    post_webhook([occupied(), added("1")], time_ms=t + 900)  # the reloaded page joins
    assert PresenceMember.objects.get().leaving_at is None
    assert ChannelState.objects.get().vacating_at is None
    assert signal_log.names() == ["channel_occupied", "member_added"]


def test_grace_period_leave_takes_effect_once_it_has_passed(
    grace: int, post_webhook: Any, signal_log: Any
) -> None:
    t = now_ms()
    post_webhook([occupied(), added("1"), added("2")], time_ms=t - 20_000)
    post_webhook([removed("1"), vacated()], time_ms=t - 10_000)  # 10 s ago: late delivery
    assert state.online_users(CH) == [] and state.active_channels() == []
    assert signal_log.names()[3:] == ["member_removed", "channel_vacated", "member_removed"]

    post_webhook([occupied(), added("3")], time_ms=t)
    post_webhook([removed("3")], time_ms=t + 1)
    assert state.online_users(CH) == ["3"]  # pending
    assert signal_log.names()[-1] == "member_added"
    before = len(signal_log.calls)
    # Later (the grace period has passed), the next webhook about channels or
    # members settles it, before its own events.
    PresenceMember.objects.filter(user_id="3").update(
        leaving_at=timezone.now() - dt.timedelta(seconds=grace + 1)
    )
    post_webhook([client_event()], time_ms=t + 2)  # touches no row: settles nothing
    assert PresenceMember.objects.get(user_id="3").left_at is None
    post_webhook([added("4", "presence-other")], time_ms=t + 3)
    settled = signal_log.calls[before:]
    assert [(name, kw.get("user_id"), kw.get("reason")) for name, kw in settled] == [
        ("client_event", "7", None),
        ("member_removed", "3", "grace_expired"),
        ("member_added", "4", "webhook"),
    ]
    assert PresenceMember.objects.get(user_id="3").left_at is not None


def test_under_a_grace_period_a_client_event_reads_no_state(
    grace: int, post_webhook: Any, monkeypatch: Any, django_assert_num_queries: Any
) -> None:
    # No pending leave can be settled by a body that touches no channel or member
    # row: the delivery record (in its transaction) is all it costs.
    monkeypatch.setattr(webhook_log, "PRUNE_EVERY", 10**12)  # no amortized prune here
    post_webhook([added("1")])
    with django_assert_num_queries(3) as captured:  # SAVEPOINT, INSERT, RELEASE
        assert post_webhook([client_event()], time_ms=now_ms() + 1).status_code == 200
    assert not any("SELECT" in q["sql"] for q in captured.captured_queries)


def test_grace_expired_leaves_are_not_reported_online_before_settling(
    grace: int, post_webhook: Any
) -> None:
    t = now_ms()
    post_webhook([added("1")], time_ms=t)
    post_webhook([removed("1")], time_ms=t + 1)
    assert state.online_users(CH) == ["1"]
    PresenceMember.objects.update(leaving_at=timezone.now() - dt.timedelta(seconds=grace + 1))
    assert state.online_users(CH) == []


# --- delivery log and pruning -----------------------------------------------------------------


def test_delivery_log_is_bounded_but_keeps_replayable_digests(
    post_webhook: Any, settings: Any, client: Any
) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "WEBHOOK_DELIVERY_LOG_SIZE": 5}
    for i in range(40):
        client.post("/api/v1/pusher/webhook", data=b"{}", content_type="application/json")
    t = now_ms()
    for i in range(20):
        post_webhook([{"name": "cache_miss", "channel": f"private-cache-{i}"}], time_ms=t + i)
    webhook_log.prune()
    assert WebhookDelivery.objects.filter(outcome="rejected").count() == 0
    # Accepted bodies within the tolerance are kept whatever the size: they stop replays.
    assert WebhookDelivery.objects.filter(outcome="accepted").count() == 20
    webhook_log.prune(now_ms=t + 400_000)
    assert WebhookDelivery.objects.count() <= 5


def test_prune_removes_only_ended_rows_older_than_the_tolerance(post_webhook: Any) -> None:
    t = now_ms()
    post_webhook([occupied("presence-old"), added("1", "presence-old")], time_ms=t)
    post_webhook([vacated("presence-old"), occupied()], time_ms=t + 1)
    assert ChannelState.objects.count() == 2 and PresenceMember.objects.count() == 1
    assert state.prune(now_ms=t + 10_000) == 0  # still within the ordering window
    assert state.prune(now_ms=t + 24 * 3600_000) == 2
    assert list(ChannelState.objects.values_list("name", flat=True)) == [CH]


def test_public_api_names(post_webhook: Any) -> None:
    from django_toolbox_realtime import active_channels, online_users

    post_webhook([occupied(), added("1")])
    assert online_users(CH) == ["1"] and active_channels() == [CH]
    assert active_channels(prefix="private-") == []
