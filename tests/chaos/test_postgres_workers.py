"""PostgreSQL only (marker ``postgresql_only``: deselected, with the reason printed,
on the SQLite run, which cannot test ``SKIP LOCKED`` nor terminate a backend; the
PostgreSQL run of CI always runs them, never a skip).

* Issue 9: two ``realtime_deliver`` processes drain 5,000 rows together: each event
  reaches the client exactly once (ids counted), in per-channel order, and both
  workers did part of the work.
* Issue 11: the worker's database connection is terminated
  (``pg_terminate_backend`` from another connection) in the middle of a batch,
  while its request to the server is on the way: the worker reconnects on its own
  and no event is lost; the outbox keeps one row per event, each sent once, and a
  repeat at the client carries an id (and seq) seen before.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.db import connection, transaction

from django_toolbox_realtime import broadcasts, trigger_event
from django_toolbox_realtime.delivery import lanes
from django_toolbox_realtime.models import OutboxEvent
from example_project.classroom.models import Quiz
from tests.chaos.helpers import (
    Saves,
    Watch,
    channel_of,
    delivery_settings,
    sent_by,
    start_worker,
)
from tests.conftest import realtime_for
from tests.delivery.test_outbox_process import rest_of_output
from tests.proxy import DelayingProxy

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgresql_only,
]

ROWS = 5000
WORKER_APP = "toolbox-chaos-worker"


def write_rows(rooms: list[int], count: int) -> Saves:
    """``count`` saves in a few transactions; FIRST_ATTEMPT "off": nothing sent yet."""
    saves = Saves()
    for start in range(0, count, 500):
        with transaction.atomic():
            for n in range(start, min(start + 500, count)):
                quiz = Quiz.objects.create(classroom_id=rooms[n % len(rooms)], title=f"q{n}")
                [event] = broadcasts.published_events(quiz)
                saves.add(quiz.pk, event.id, quiz.classroom_id, 0.0)
    return saves


def stop(workers: list) -> list[str]:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    outputs = []
    for worker in workers:
        assert worker.wait(30) == 0
        outputs.append(rest_of_output(worker))
    return outputs


def settle(client, channels: list[str]) -> None:
    """Everything sent before now on ``channels`` has reached ``client``: a marker
    sent after it on each channel has (per-channel order)."""
    for channel in channels:
        trigger_event(channel=channel, event="marker", data={})
    for channel in channels:
        client.wait_for(lambda m, c=channel: m["event"] == "marker" and m["channel"] == c)


def test_two_workers_drain_5000_rows_each_event_received_exactly_once(
    server, connect, rooms, settings, shared_db, processes
):
    realtime = delivery_settings(server.port, FIRST_ATTEMPT="off")
    settings.TOOLBOX_REALTIME = realtime_for(server, **realtime)
    # More channels than one worker holds (lanes.ROUND_LANES a round, and its
    # rounds overlap: the one being sent and the one claimed behind it): the other
    # worker always finds lanes due, whichever starts first.
    ids = rooms(2 * lanes.ROUND_LANES + 14)
    channels = [channel_of(room) for room in ids]
    client = connect(*channels)
    watch = Watch(client)
    # Both workers running first: one alone drains 5,000 rows faster than the
    # other process starts.
    workers = [start_worker(shared_db, realtime, processes) for _ in range(2)]
    started = time.monotonic()
    saves = write_rows(ids, ROWS)
    arrived = watch.wait(ROWS, timeout=150)
    took = time.monotonic() - started
    outputs = stop(workers)
    assert arrived, (
        f"{watch.distinct} of {ROWS} arrived (client closed: {client.close_info}); "
        f"workers: {[o[-300:] for o in outputs]}"
    )
    settle(client, channels)
    found = watch.update(list(client.messages))
    found.assert_complete(saves.ids)
    assert found.repeats == 0, f"{found.repeats} events arrived twice"
    found.assert_in_publish_order(saves.published)
    shares = [sent_by([out]) for out in outputs]
    assert sum(shares) == ROWS and all(shares), shares  # both took part, none twice
    print(f"two workers: {ROWS} events in {took:.1f} s (incl. start-up), split {shares}")


def worker_backend(timeout: float = 30.0) -> int:
    """The backend pid of the worker's database connection."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [WORKER_APP]
            )
            found = [row[0] for row in cursor.fetchall()]
            if found:
                assert len(found) == 1, found
                return int(found[0])
            time.sleep(0.05)
    raise AssertionError("the worker has no database connection")


def wait_for(condition, timeout: float, what: str, worker) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            os.killpg(worker.pid, signal.SIGTERM)
            raise AssertionError(f"timed out waiting for {what}: {rest_of_output(worker)}")
        time.sleep(0.02)


def test_worker_connection_terminated_mid_batch_loses_nothing_doubles_no_row(
    server, connect, rooms, settings, shared_db, processes
):
    realtime = delivery_settings(server.port, FIRST_ATTEMPT="off", TIMEOUT=5)
    settings.TOOLBOX_REALTIME = realtime_for(server, **realtime)
    ids = rooms(4)
    channels = [channel_of(room) for room in ids]
    client = connect(*channels)
    watch = Watch(client)
    saves = write_rows(ids, 200)
    with DelayingProxy(server.port) as proxy:
        proxy.delay = 30  # the worker's first request reaches the server, its answer waits
        worker = start_worker(
            f"{shared_db}?application_name={WORKER_APP}",
            {**realtime, "PORT": proxy.port},
            processes,
        )
        wait_for(lambda: proxy.delayed_chunks >= 1, 30, "the worker's first request", worker)
        backend = worker_backend()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
            assert cursor.fetchone()[0] is True
        proxy.delay = 0  # the answer arrives; the worker's connection is gone
        arrived = watch.wait(len(saves.ids), timeout=90)
        [output] = stop([worker])
    assert arrived, f"{watch.distinct} of 200 arrived; worker: {output[-2000:]}"
    # The drop landed mid-batch: the worker hit it (recording the round, or claiming
    # the next one or pruning while this one was being sent), said so, and went on.
    # psycopg reports it either way, by whether the server's notice was read first.
    dropped = ("terminating connection due to administrator command", "closed the connection")
    assert any(words in output for words in dropped), output[-3000:]
    settle(client, channels)
    found = watch.update(list(client.messages))
    found.assert_complete(saves.ids)
    rows = OutboxEvent.objects.all()
    assert rows.count() == 200 and {r.state for r in rows} == {"delivered"}
    assert len({r.event_id for r in rows}) == 200  # one row per event: none doubled
    print(
        f"connection terminated mid-batch: 200 of 200 delivered, {found.repeats} repeats "
        f"(same id and seq); worker: {output.strip().splitlines()[-1]}"
    )
