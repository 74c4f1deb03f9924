"""Issue 9, "Prove it": a web process killed with SIGKILL after its transaction
committed, on the full path: ``save()`` of a registered model in a subprocess,
its first try after commit in flight, the process killed, ``manage.py
realtime_deliver`` in another process, a real WebSocket client.

* Killed before the server had the event (the first try hangs on a server that
  never answers): the event arrives later, sent by the worker, with the id the
  save published and seq 1.
* Killed after the server had the event but before the process could record it
  (the answer held back by a delaying proxy): the client gets the event live, and
  once more from the worker with the same id and seq, the documented
  at-least-once repeat that a client drops by id.
"""

from __future__ import annotations

import json
import os
import signal

import pytest

from tests.chaos.helpers import (
    EVENT,
    Watch,
    channel_of,
    delivery_settings,
    read_saves,
    start_worker,
    web_process,
)
from tests.delivery.test_outbox_outage import HungServer
from tests.delivery.test_outbox_process import rest_of_output
from tests.proxy import DelayingProxy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def kill(process) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def stop_worker(worker) -> str:
    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(30) == 0
    return rest_of_output(worker)


def test_killed_between_commit_and_send_the_event_arrives_later_with_the_same_id(
    server, connect, rooms, shared_db, processes
):
    [room] = rooms(1)
    client = connect(channel_of(room))
    hung = HungServer()
    try:
        # TIMEOUT 2: the dead process's lease on the row ends 3 s after its claim.
        web = web_process(
            shared_db, delivery_settings(hung.port, TIMEOUT=2), [room], 1, RT_LINGER="60"
        )
        processes.append(web)
        saves = read_saves(web)  # committed: the save has returned
        assert hung.accepted.wait(20)  # its first try is in flight, unanswered...
        kill(web)  # ...when the process dies
    finally:
        hung.close()
    [(pk, event_id)] = saves.ids.items()
    worker = start_worker(shared_db, delivery_settings(server.port), processes)
    message = client.wait_for(lambda m: m["event"] == EVENT, timeout=30)
    data = json.loads(message["data"])
    assert data["_rt"] == {"id": event_id, "seq": 1} and data["id"] == pk
    assert "1 sent" in stop_worker(worker)
    assert Watch(client).distinct == 1


def test_killed_after_the_server_had_it_a_repeat_carries_the_same_id_and_seq(
    server, connect, rooms, shared_db, processes
):
    [room] = rooms(1)
    client = connect(channel_of(room))
    watch = Watch(client)
    with DelayingProxy(server.port) as proxy:
        proxy.delay = 60  # the server gets the request; its answer is held back
        web = web_process(
            shared_db, delivery_settings(proxy.port, TIMEOUT=3), [room], 1, RT_LINGER="60"
        )
        processes.append(web)
        saves = read_saves(web)
        assert watch.wait(1, timeout=30)  # delivered live by the first try...
        kill(web)  # ...whose process dies before it hears the server's answer
        assert proxy.delayed_chunks >= 1
    [(pk, event_id)] = saves.ids.items()
    worker = start_worker(shared_db, delivery_settings(server.port), processes)
    # The row was never recorded as sent: once its lease ends the worker sends it again.
    assert client.wait_until(lambda m: len([x for x in m if x["event"] == EVENT]) == 2, 30)
    assert "1 sent" in stop_worker(worker)
    found = watch.update(list(client.messages))
    found.assert_complete(saves.ids)  # both copies: same id, same seq
    assert found.copies == {event_id: 2} and found.repeats == 1
