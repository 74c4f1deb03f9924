"""What a claim costs the database: lanes that exist are not inserted again (no
savepoint per round), the rows' numbers and leases and the lanes' counters are
written with one statement each, whatever the number of lanes and rows; the
numbers are still per channel, in order, kept on a retry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.delivery import lanes, rounds
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.models import DeliveryLane, OutboxEvent
from django_toolbox_realtime.validation import encode_payload

pytestmark = pytest.mark.django_db(transaction=True)

CHANNELS = ["public-a", "public-b", "public-c"]


@pytest.fixture(autouse=True)
def outbox_only(settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "DELIVERY": "outbox",
        "FIRST_ATTEMPT": "off",
    }


def write(count: int) -> None:
    publish(
        OutgoingEvent("", "tick", (CHANNELS[i % len(CHANNELS)],), encode_payload({"i": i}))
        for i in range(count)
    )


def sql_of(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries]


def test_a_claim_writes_with_one_statement_per_table_once_lanes_exist() -> None:
    write(3)
    first = lanes.claim("default", CHANNELS)
    assert DeliveryLane.objects.count() == 3  # created on the first claim
    lanes.record("default", lanes.Outcome(delivered=first))
    write(30)
    with CaptureQueriesContext(connection) as queries:
        claimed = lanes.claim("default", CHANNELS)
    sql = sql_of(queries)
    assert len(claimed) == 30
    lane_table, rows_table = DeliveryLane._meta.db_table, OutboxEvent._meta.db_table
    assert not [s for s in sql if "SAVEPOINT" in s.upper()], sql
    assert not [s for s in sql if s.upper().startswith("INSERT")], sql
    lane_updates = [s for s in sql if s.upper().startswith(f'UPDATE "{lane_table}"'.upper())]
    row_updates = [s for s in sql if s.upper().startswith(f'UPDATE "{rows_table}"'.upper())]
    if connection.vendor == "postgresql":
        assert len(lane_updates) == 1, sql  # every lane's counter at once
    else:  # SQLite: the write lock first (a no-op update), then the counters
        assert len(lane_updates) == 2, sql
    assert len(row_updates) == 1, sql  # every row's number and lease at once
    by_channel: dict[str, list[int]] = {}
    for row in claimed:
        by_channel.setdefault(row.channel, []).append(row.seq)
    assert by_channel == {c: list(range(2, 12)) for c in CHANNELS}
    stored = dict(DeliveryLane.objects.values_list("channel", "last_seq"))
    assert stored == {c: 11 for c in CHANNELS}
    rows = OutboxEvent.objects.filter(pk__in=[r.pk for r in claimed])
    assert {(r.pk, r.seq, r.attempts) for r in rows} == {(r.pk, r.seq, 1) for r in claimed}


def test_a_retried_row_keeps_its_number_and_counts_its_tries() -> None:
    write(2)
    claimed = lanes.claim("default", CHANNELS)
    lanes.record("default", lanes.Outcome(released=claimed))  # given back untouched
    OutboxEvent.objects.update(attempts=3)  # as if tried three times before
    again = lanes.claim("default", CHANNELS)
    assert [(r.pk, r.seq, r.attempts) for r in again] == [(r.pk, r.seq, 4) for r in claimed]
    stored = OutboxEvent.objects.filter(pk__in=[r.pk for r in again])
    assert sorted(stored.values_list("seq", "attempts")) == [(1, 4), (1, 4)]
    assert dict(DeliveryLane.objects.values_list("channel", "last_seq")) == {
        "public-a": 1,
        "public-b": 1,
        "public-c": 0,
    }


@pytest.mark.integration
def test_lanes_sent_side_by_side_keep_each_channels_order(settings: Any, ws_client: Any) -> None:
    """Six channels in one round: sent by several threads (groups of lanes), each
    channel's events still reach a real client in their order."""
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "DELIVERY": "outbox",
        "FIRST_ATTEMPT": "off",
    }
    channels = [f"public-side-{n}" for n in range(6)]
    client = ws_client()
    for channel in channels:
        client.subscribe(channel)
    publish(
        OutgoingEvent("", "tick", (channels[i % 6],), encode_payload({"i": i})) for i in range(60)
    )
    claimed = lanes.claim("default", channels)
    assert len(rounds._groups(claimed)) == rounds.SEND_THREADS  # sent side by side
    lanes.record("default", rounds.send(claimed))
    assert OutboxEvent.objects.filter(state=OutboxEvent.State.DELIVERED).count() == 60
    seen: dict[str, list[int]] = {}
    for message in client.wait_for_count("tick", 60, timeout=20):
        seen.setdefault(message["channel"], []).append(json.loads(message["data"])["_rt"]["seq"])
    assert seen == {channel: list(range(1, 11)) for channel in channels}
