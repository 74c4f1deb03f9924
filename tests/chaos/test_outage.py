"""Issue 9, "Prove it": a server outage at full size. Saves of a registered model
never fail and never wait for the server; once it is back, ``realtime_deliver``
delivers every event to a real WebSocket client: none missing, a repeat only ever
with an id (and seq) seen before, each channel's events in publish order.

* Stopped: soketi is down for 1,000 saves, restarted on the same port; the client
  subscribes after the restart (a stop drops every connection), then the worker
  drains.
* Hung: soketi is SIGSTOP'ed (connections accepted, nothing answered) while a
  client stays subscribed; 1,000 saves in a web process; SIGCONT; a worker process
  drains; the client that stayed subscribed gets everything.

Save times are printed (p50 / p99 / max), not asserted: the bound asserted is the
structural one, the first try after commit giving up after the configured
``TIMEOUT`` (1 s) instead of waiting for the server.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from django.db import transaction

from django_toolbox_realtime import broadcasts
from example_project.classroom.models import Quiz
from tests.chaos.helpers import (
    Saves,
    Watch,
    channel_of,
    delivery_settings,
    drain_until,
    read_saves,
    report,
    sent_by,
    start_worker,
    web_process,
)
from tests.conftest import realtime_for
from tests.delivery.test_outbox_process import read_until, rest_of_output

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SAVES = 1000


def save_quizzes(rooms: list[int], count: int) -> Saves:
    """``count`` saves, each in its own transaction (a request with ATOMIC_REQUESTS)."""
    saves = Saves()
    for n in range(count):
        started = time.perf_counter()
        with transaction.atomic():
            quiz = Quiz.objects.create(classroom_id=rooms[n % len(rooms)], title=f"q{n}")
        took = time.perf_counter() - started
        [event] = broadcasts.published_events(quiz)
        saves.add(quiz.pk, event.id, quiz.classroom_id, took)
    return saves


def test_server_stopped_1000_saves_succeed_and_all_arrive_after_restart(
    server, connect, rooms, settings
):
    settings.TOOLBOX_REALTIME = realtime_for(server, **delivery_settings(server.port))
    ids = rooms(4)
    port = server.port
    server.stop()
    saves = save_quizzes(ids, SAVES)  # none raises
    report("soketi stopped (this process, first try after commit)", saves.durations)
    assert Quiz.objects.count() == SAVES and len(set(saves.ids.values())) == SAVES

    server.start()
    assert server.port == port  # the same address: what clients and the app know
    client = connect(*(channel_of(room) for room in ids))  # before the drain
    watch = Watch(client)
    outputs = drain_until(watch, SAVES)
    found = watch.update(list(client.messages))
    found.assert_complete(saves.ids)
    found.assert_in_publish_order(saves.published)
    assert sent_by(outputs) == SAVES  # the worker sent them: nothing got out before
    print(f"after the restart: {SAVES} delivered by realtime_deliver, {found.repeats} repeats")


def test_server_hung_saves_go_on_and_a_subscribed_client_gets_everything(
    server, connect, rooms, shared_db, processes
):
    ids = rooms(2)
    client = connect(*(channel_of(room) for room in ids))
    watch = Watch(client)
    server.pause()  # SIGSTOP: the client's connection stays open, nothing answers
    try:
        web = web_process(
            shared_db, delivery_settings(server.port, TIMEOUT=1), ids, SAVES, RT_LINGER="30"
        )
        processes.append(web)
        saves = read_saves(web)  # all 1,000 made while the server hangs
        report("soketi hung (web process, background first try)", saves.durations)
        tried = json.loads(read_until(web, "tried "))
        # The structural bound: the first try gave up after TIMEOUT (1 s), the row kept.
        assert tried is not None, "no first try failed against the hung server"
        assert "within 1.0 s (TOOLBOX_REALTIME['TIMEOUT'])" in tried["error"], tried
        assert web.wait(30) == 0
        assert watch.distinct == 0  # nothing could arrive meanwhile
    finally:
        server.resume()  # SIGCONT

    worker = start_worker(shared_db, delivery_settings(server.port), processes)
    arrived = watch.wait(SAVES, timeout=120)
    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(30) == 0
    output = rest_of_output(worker)
    found = watch.update(list(client.messages))
    assert arrived, f"{watch.distinct} of {SAVES} arrived; worker: {output[-2000:]}"
    found.assert_complete(saves.ids)
    found.assert_in_publish_order(saves.published)
    print(
        f"after SIGCONT: {SAVES} events at the client that stayed subscribed, "
        f"{found.repeats} repeats (same id and seq)"
    )
