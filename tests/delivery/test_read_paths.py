"""A sender's reads give the same answers by every path: the hand-written SQL of
PostgreSQL and SQLite (``claim_reads``, ``due_reads``) and the ORM that serves any
other database. Each test runs twice on the database of the run: ``native``, and
``orm`` with the hand-written reads switched off.

What is read: which channels have a due first row (``due_channels``: due now, and
with a grace, tried already or older than it), and a lane's due prefix in send
order (numbered rows by seq, then new ones by id).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from django_toolbox_realtime.backends import OutgoingEvent, locmem
from django_toolbox_realtime.delivery import claim_reads, due_reads, envelope, lanes
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.delivery.worker import Worker
from django_toolbox_realtime.models import OutboxEvent
from django_toolbox_realtime.validation import encode_payload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["native", "orm"], autouse=True)
def read_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, settings) -> str:
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "DELIVERY": "outbox",
        "FIRST_ATTEMPT": "off",
    }
    if request.param == "orm":
        monkeypatch.setattr(claim_reads, "_READS", {})
        monkeypatch.setattr(due_reads, "supported", lambda alias: False)
    return str(request.param)


def row(channel: str, name: str, *, due_in: float = 0, age: float = 0, attempts: int = 0) -> None:
    now = timezone.now()
    OutboxEvent.objects.create(
        event_id=name,
        channel=channel,
        name="e",
        data="{}",
        next_attempt_at=now + dt.timedelta(seconds=due_in),
        created_at=now - dt.timedelta(seconds=age),
        attempts=attempts,
    )


def test_due_channels_take_the_first_row_of_each_channel_and_the_grace():
    row("public-due", "a")
    row("public-later", "b", due_in=60)  # its first row waits for a retry
    row("public-later", "c")  # due, but behind it
    row("public-young", "d")  # written just now, never tried
    row("public-tried", "e", attempts=1)
    row("public-old", "f", age=120)
    grace = timezone.now() - dt.timedelta(seconds=30)
    assert sorted(lanes.due_channels("default", None)) == [
        "public-due",
        "public-old",
        "public-tried",
        "public-young",
    ]
    assert sorted(lanes.due_channels("default", grace)) == ["public-old", "public-tried"]
    assert len(lanes.due_channels("default", None, limit=2)) == 2


def test_due_channels_come_longest_due_first():
    row("public-b", "b", due_in=-5)
    row("public-a", "a", due_in=-50)
    row("public-c", "c", due_in=-1)
    assert lanes.due_channels("default", None) == ["public-a", "public-b", "public-c"]


def test_a_claim_takes_the_due_prefix_with_the_grace():
    row("public-lane", "old", age=120)
    row("public-lane", "young")
    row("public-lane", "old-too", age=120)  # behind a young row: waits for it
    grace = timezone.now() - dt.timedelta(seconds=30)
    claimed = lanes.claim("default", ["public-lane"], fresh_before=grace)
    assert [(c.event_id, c.seq, c.attempts) for c in claimed] == [("old", 1, 1)]
    OutboxEvent.objects.filter(event_id="old").update(state="delivered")
    claimed = lanes.claim("default", ["public-lane"])  # no grace: all due
    assert [(c.event_id, c.seq) for c in claimed] == [("young", 2), ("old-too", 3)]


def test_a_worker_drains_three_channels_in_order(read_path: str):
    locmem.outbox.clear()
    channels = ["public-x", "public-y", "public-z"]
    publish(
        OutgoingEvent("", "tick", (channels[n % 3],), encode_payload({"n": n})) for n in range(250)
    )
    worker = Worker(once=True, report=lambda line: None)
    worker.run()
    assert worker.totals["delivered"] == 250
    seqs: dict[str, list[int]] = {}
    numbers: dict[str, list[int]] = {}
    for event in locmem.outbox:
        data: Any = json.loads(event.data)
        [channel] = event.channels
        seqs.setdefault(channel, []).append(data[envelope.KEY]["seq"])
        numbers.setdefault(channel, []).append(data["n"])
    for index, channel in enumerate(channels):
        expected = list(range(index, 250, 3))
        assert numbers[channel] == expected, read_path
        assert seqs[channel] == list(range(1, len(expected) + 1)), read_path
