"""Issue 11, faults of the server: soketi killed in the middle of a stream and
restarted, and soketi answering slowly (through a delaying proxy).

* Killed mid-stream (SIGKILL while ``realtime_deliver`` is sending 600 events):
  a client reconnects after the restart and catches up the documented way,
  ``GET history?after=<last seq it saw>``, then gets the rest live. Between what
  it saw before the kill, the history and what came after, nothing is lost.
* Slow: every answer of the server is held back 3 s by a proxy, ``TIMEOUT`` is
  1 s. A web process's saves stay fast (p99 printed), its first tries give up
  after ``TIMEOUT``; the worker's tries time out and are retried; once the proxy
  is fast again the worker delivers every event.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import pytest
from django.db import transaction

from django_toolbox_realtime import broadcasts
from example_project.classroom.models import Quiz
from tests.chaos.helpers import (
    Saves,
    Tally,
    Watch,
    channel_of,
    deliver_once,
    delivery_settings,
    read_saves,
    report,
    start_worker,
    web_process,
)
from tests.conftest import realtime_for
from tests.delivery.test_outbox_process import read_until, rest_of_output
from tests.proxy import DelayingProxy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HISTORY_URL = "/api/v1/pusher/history"


def write_rows(rooms: list[int], count: int) -> Saves:
    saves = Saves()
    with transaction.atomic():
        for n in range(count):
            quiz = Quiz.objects.create(classroom_id=rooms[n % len(rooms)], title=f"q{n}")
            [event] = broadcasts.published_events(quiz)
            saves.add(quiz.pk, event.id, quiz.classroom_id, 0.0)
    return saves


def catch_up(http, channel: str, after: int) -> list[tuple[str, dict]]:
    """The channel's history after ``after``, page by page (bounded), as
    (channel, data as a client received it)."""
    found: list[tuple[str, dict]] = []
    for _ in range(50):
        response = http.get(HISTORY_URL, {"channel": channel, "after": after})
        assert response.status_code == 200, response.content
        page = response.json()
        assert page["oldest_seq"] is None or page["oldest_seq"] <= after + 1, "pruned"
        found += [(channel, event["data"]) for event in page["events"]]
        if not page["truncated"]:
            return found
        after = page["next_after"]
    raise AssertionError("history pages without end")


def last_seq(found: Tally, channel: str) -> int:
    seqs = [seq for pairs in found.seqs.values() for ch, seq in pairs if ch == channel]
    return max(seqs, default=0)


def test_server_killed_mid_stream_and_restarted_nothing_is_lost(
    server, connect, rooms, settings, client
):
    settings.TOOLBOX_REALTIME = realtime_for(
        server, **delivery_settings(server.port, FIRST_ATTEMPT="off")
    )
    ids = rooms(2)
    channels = [channel_of(room) for room in ids]
    saves = write_rows(ids, 600)
    before = connect(*channels)
    watch = Watch(before)
    killed = threading.Event()

    def kill_mid_stream() -> None:
        if watch.wait(150, timeout=60):  # a quarter has arrived: the stream is on
            server.kill()
        killed.set()

    killer = threading.Thread(target=kill_mid_stream)
    killer.start()
    deadline = time.monotonic() + 60
    while not killed.is_set():  # the worker sends while the killer waits
        assert time.monotonic() < deadline, "the stream did not start"
        deliver_once()
    killer.join(10)
    assert server.process is None, "soketi was not killed mid-stream"
    assert before.wait_closed(10)[0] is None  # dropped, not closed by the server
    seen = watch.update(list(before.messages))
    assert 150 <= len(seen.copies) < 600, len(seen.copies)  # killed mid-stream

    server.start()  # the same port
    after = connect(*channels)  # the client reconnects and resubscribes...
    history = []
    for channel in channels:  # ...then catches up from the last seq it saw there
        history += catch_up(client, channel, last_seq(seen, channel))

    def everything() -> Tally:
        found = Tally().add_messages(list(before.messages) + list(after.messages))
        for channel, data in history:
            found.add(channel, data)
        return found

    deadline = time.monotonic() + 90
    while len(everything().copies) < 600:
        assert time.monotonic() < deadline, f"{len(everything().copies)} of 600 arrived"
        deliver_once()
        after.wait_until(lambda messages: False, timeout=0.1)  # let what was sent arrive
    everything().assert_complete(saves.ids)
    print(
        f"killed after {len(seen.copies)} of 600 had arrived; {len(history)} read from "
        "the history on reconnecting, the rest live"
    )


def test_slow_server_times_out_saves_stay_fast_and_the_outbox_delivers_when_fast(
    server, connect, rooms, shared_db, processes
):
    ids = rooms(2)
    client = connect(*(channel_of(room) for room in ids))
    watch = Watch(client)
    with DelayingProxy(server.port) as proxy:
        proxy.delay = 3  # every answer 3 s late; TIMEOUT is 1 s
        realtime = delivery_settings(proxy.port, TIMEOUT=1)
        web = web_process(shared_db, realtime, ids, 200, RT_LINGER="30")
        processes.append(web)
        saves = read_saves(web)
        report("soketi slow (3 s answers, TIMEOUT 1 s; web process)", saves.durations)
        tried = read_until(web, "tried ")
        assert "within 1.0 s (TOOLBOX_REALTIME['TIMEOUT'])" in tried, tried
        assert web.wait(30) == 0
        worker = start_worker(shared_db, realtime, processes)
        first = read_until(worker, "round ")  # the worker's tries time out too: retried
        assert re.search(r": 0 sent, 0 refused, [1-9]\d* to retry", first), first
        proxy.delay = 0  # fast again (answers held back are released)
        arrived = watch.wait(200, timeout=60)
        os.killpg(worker.pid, signal.SIGTERM)
        assert worker.wait(30) == 0
        output = rest_of_output(worker)
    assert arrived, f"{watch.distinct} of 200 arrived; worker: {output[-2000:]}"
    found = watch.update(list(client.messages))
    found.assert_complete(saves.ids)
    found.assert_in_publish_order(saves.published)
    sent = sum(int(n) for n in re.findall(r"round\(s\): (\d+) sent", output))
    assert sent == 200, output[-2000:]  # every row was recorded as sent by the worker
    print(f"slow server: 200 delivered once fast, {found.repeats} repeats (same id and seq)")
