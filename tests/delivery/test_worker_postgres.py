"""Two realtime_deliver workers at once on PostgreSQL share the lanes
(``FOR UPDATE SKIP LOCKED``): every event is sent exactly once, and each channel's
events arrive in order with contiguous sequence numbers."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection, connections, transaction

from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.delivery import lanes
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.delivery.worker import Worker
from django_toolbox_realtime.models import OutboxEvent
from tests.conftest import realtime_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent workers need row locks (FOR UPDATE SKIP LOCKED): PostgreSQL "
        "only; on SQLite one worker at a time is supported (CI runs this on PostgreSQL)",
    ),
]

# More channels than one worker holds (lanes.ROUND_LANES a round, and its rounds
# overlap: the one being sent and the one claimed behind it): whatever the timing,
# the other worker finds lanes due, so the test always runs two senders. (With a
# few channels a fast worker may hold all of them, round after round: a channel
# is sent by one sender at a time, so the other has nothing to take.)
CHANNELS = [f"public-pg-{i}" for i in range(2 * lanes.ROUND_LANES + 25)]
# 48 events each: every lane takes several rounds, so the drain lasts long enough
# for both workers to take lanes whichever runs first (with 16 each, one worker
# sometimes drained all of them before the other found a lane free).
EVENTS = 6000


def test_two_workers_send_each_event_once_in_per_channel_order(ws_client, settings, soketi):
    settings.TOOLBOX_REALTIME = realtime_for(
        soketi, FIRST_ATTEMPT="off", FIRST_ATTEMPT_GRACE_SECONDS=0, WORKER_POLL_SECONDS=0.02
    )
    client = ws_client()
    for channel in CHANNELS:
        client.subscribe(channel)
    workers = [Worker(report=lambda line: None) for _ in range(2)]

    def run(worker: Worker) -> None:
        try:
            worker.run()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    # Both workers polling before the events commit: one alone, started first,
    # could drain them all before the other one's first round.
    deadline = time.monotonic() + 30
    while not all(worker.rounds >= 1 for worker in workers):
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.01)
    published: dict[str, list[str]] = {c: [] for c in CHANNELS}
    started = time.monotonic()
    with transaction.atomic():
        for n in range(EVENTS):
            channel = CHANNELS[n % len(CHANNELS)]
            [event] = publish(
                [OutgoingEvent("", "tick", (channel,), json.dumps({"n": n}))], source=str(n)
            )
            published[channel].append(event.id)
    try:
        received = client.wait_for_count("tick", EVENTS, timeout=120)
    finally:
        for worker in workers:
            worker.stop()
        for thread in threads:
            thread.join(30)
    took = time.monotonic() - started
    by_channel: dict[str, list[dict]] = {c: [] for c in CHANNELS}
    for message in received:
        by_channel[message["channel"]].append(json.loads(message["data"])["_rt"])
    for channel in CHANNELS:
        envelopes = by_channel[channel]
        assert [e["id"] for e in envelopes] == published[channel]  # once each, in order
        assert [e["seq"] for e in envelopes] == list(range(1, EVENTS // len(CHANNELS) + 1))
    assert not OutboxEvent.objects.exclude(state="delivered").exists()  # (history pruned)
    sent = [w.totals["delivered"] for w in workers]
    assert sum(sent) == EVENTS and all(sent), sent  # both did part of the work
    print(f"two workers: {EVENTS} events in {took:.1f} s, split {sent}")
