"""realtime_deliver claims WORKER_ROUND_ROWS a round (the first try 100), and the
lease it writes covers its longest sending group: every request of that group
taking the whole TIMEOUT."""

from __future__ import annotations

import math
import random
import re
from typing import Any

import pytest
from django.utils import timezone

from django_toolbox_realtime.backends import OutgoingEvent, locmem
from django_toolbox_realtime.delivery import lanes, rounds
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.delivery.worker import Worker
from django_toolbox_realtime.models import OutboxEvent
from django_toolbox_realtime.validation import MAX_EVENTS_PER_BATCH, encode_payload

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_round_claims_worker_round_rows(settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "FIRST_ATTEMPT": "off"}
    total = 2 * lanes.WORKER_ROUND_ROWS
    publish(
        OutgoingEvent("", "tick", (f"public-w-{i % 4}",), encode_payload({"i": i}))
        for i in range(total)
    )
    lines: list[str] = []
    worker = Worker(once=True, report=lines.append)
    worker.run()
    assert worker.totals["delivered"] == total
    sent = [int(match[1]) for line in lines if (match := re.search(r": (\d+) sent,", line))]
    assert sent == [lanes.WORKER_ROUND_ROWS] * 2  # two full rounds
    assert len(locmem.outbox) == total
    assert OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING).count() == 0


def _longest_group_rows(sizes: list[int]) -> int:
    claimed = [
        lanes.Claimed(n, f"public-{lane}", f"e{n}", "tick", "{}", None, n, 1)
        for lane, size in enumerate(sizes)
        for n in range(size)
    ]
    return max(len(group) for group in rounds._groups(claimed))


def test_the_lease_covers_the_longest_sending_group(settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "TIMEOUT": 2}
    chance = random.Random(7)
    for _ in range(300):  # lane sizes as a worker round can claim them
        sizes = [chance.randint(1, 120) for _ in range(chance.randint(1, 12))]
        rows, largest = sum(sizes), max(sizes)
        requests = math.ceil(_longest_group_rows(sizes) / MAX_EVENTS_PER_BATCH)
        assert lanes.lease_seconds(rows, largest) >= 2 * requests + 1, sizes
    # Shorter than one request after another for the whole round, when lanes are many.
    assert lanes.lease_seconds(500, 50) < lanes.lease_seconds(500)


def test_a_claim_leases_for_its_longest_group(settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "FIRST_ATTEMPT": "off",
        "TIMEOUT": 2,
    }
    channels = [f"public-l-{n}" for n in range(10)]
    publish(
        OutgoingEvent("", "tick", (channels[i % 10],), encode_payload({"i": i})) for i in range(500)
    )
    before = timezone.now()
    claimed = lanes.claim("default", channels, limit=lanes.WORKER_ROUND_ROWS)
    assert len(claimed) == 500
    until = OutboxEvent.objects.filter(pk=claimed[0].pk).get().next_attempt_at
    # 500 rows, 50 a lane: a group holds at most 125 + 50 rows, 18 requests.
    expected = 2 * (18 + 1) + 1
    assert expected - 1 <= (until - before).total_seconds() <= expected + 1
