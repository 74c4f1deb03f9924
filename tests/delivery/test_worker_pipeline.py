"""The worker's overlapped rounds (``delivery.pipeline``): the next round is claimed
behind the one being sent and sent only once every row of it was accepted.

Against a real soketi (order and once-only at a WebSocket client), and a local
HTTP server that accepts events, records them and answers 503 to one chosen
request (soketi cannot be made to): a failure in one round must give back the
round claimed behind it untouched, so that nothing overtakes the retried rows.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from django_toolbox_realtime.backends import OutgoingEvent, locmem
from django_toolbox_realtime.delivery import envelope, lanes, pipeline, rounds
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.delivery.worker import Worker
from django_toolbox_realtime.models import OutboxEvent
from django_toolbox_realtime.validation import encode_payload
from tests.conftest import PUSHER_BACKEND, realtime_for
from tests.helpers import QuietHandler, http_server
from tests.pusher_ws import PusherWSClient

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

pipeline_module_overlaps = pipeline.overlaps  # before the fixture replaces it
QUIET = {"FIRST_ATTEMPT": "off", "FIRST_ATTEMPT_GRACE_SECONDS": 0, "TIMEOUT": 2}
#: More than two worker rounds on one channel (WORKER_ROUND_ROWS each).
COUNT = 2 * lanes.WORKER_ROUND_ROWS + 200


@pytest.fixture(autouse=True)
def overlapping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rounds overlap on every database here (by default not on SQLite)."""
    monkeypatch.setattr(pipeline, "overlaps", lambda alias: True)


def test_rounds_overlap_where_the_database_is_another_process(settings, monkeypatch):
    """On PostgreSQL a round is sent by the round thread while the worker claims
    the next one; on SQLite the worker sends it itself, one round after another."""
    monkeypatch.setattr(pipeline, "overlaps", pipeline_module_overlaps)  # not forced
    settings.TOOLBOX_REALTIME = {**django_settings.TOOLBOX_REALTIME, **QUIET}
    real_send, senders = rounds.send_without_counting, set()

    def send(claimed: list[lanes.Claimed], *args: Any) -> lanes.Outcome:
        senders.add(threading.current_thread().name.split("_")[0])
        return real_send(claimed, *args)

    monkeypatch.setattr(rounds, "send_without_counting", send)
    enqueue("public-lane", COUNT)
    assert drain().totals["delivered"] == COUNT
    expected = "MainThread" if connection.vendor == "sqlite" else "toolbox-realtime-round"
    assert senders == {expected}


def make(channel: str, n: int) -> OutgoingEvent:
    return OutgoingEvent(id="", name="tick", channels=(channel,), data=encode_payload({"n": n}))


def enqueue(channel: str, count: int) -> None:
    for start in range(0, count, 500):
        publish([make(channel, n) for n in range(start, min(count, start + 500))])


def drain(deadline_seconds: float = 60.0) -> Worker:
    """Run ``realtime_deliver --once`` until no row waits (retries included)."""
    worker = Worker(once=True, report=lambda line: None)
    deadline = time.monotonic() + deadline_seconds
    while OutboxEvent.objects.filter(state="pending").exists():
        assert time.monotonic() < deadline, "the outbox did not drain in time"
        worker.run()
        time.sleep(0.02)
    return worker


def test_claim_behind_rows_being_sent_goes_on_in_lane_order(settings):
    settings.TOOLBOX_REALTIME = {**django_settings.TOOLBOX_REALTIME, **QUIET}
    enqueue("public-lane", 30)
    first, more = lanes.claim_round("default", ["public-lane"], limit=10)
    assert [row.seq for row in first] == list(range(1, 11)) and more
    # Another sender stops at the leased head: order kept.
    assert lanes.claim("default", ["public-lane"]) == []
    second, _ = lanes.claim_round("default", ["public-lane"], limit=10, behind=first)
    assert [row.seq for row in second] == list(range(11, 21))
    third, more = lanes.claim_round("default", ["public-lane"], limit=10, behind=first + second)
    assert [row.seq for row in third] == list(range(21, 31)) and not more


def test_pipelined_rounds_deliver_every_event_once_in_order(settings, soketi_server):
    settings.TOOLBOX_REALTIME = realtime_for(soketi_server, **QUIET)
    client = PusherWSClient(soketi_server.ws_url).connect()
    try:
        client.subscribe("public-pipeline")
        client.subscribe("public-other")
        enqueue("public-pipeline", COUNT)
        enqueue("public-other", 25)
        worker = drain()
        got = client.wait_for_count("tick", COUNT + 25, timeout=60)
    finally:
        client.close()
    assert worker.totals["delivered"] == COUNT + 25
    by_channel: dict[str, list[int]] = {}
    for message in got:
        seq = json.loads(message["data"])[envelope.KEY]["seq"]
        by_channel.setdefault(message["channel"], []).append(seq)
    assert by_channel["public-pipeline"] == list(range(1, COUNT + 1))
    assert by_channel["public-other"] == list(range(1, 26))


class _FailsOnce(QuietHandler):
    """Accepts batches (recording each event's channel and seq) except request
    number ``fail_at``, answered 503."""

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server: Any = self.server
        with server.lock:
            server.requests += 1
            failing = server.requests == server.fail_at
            if not failing:
                for event in json.loads(body)["batch"]:
                    seq = json.loads(event["data"])[envelope.KEY]["seq"]
                    server.accepted.append((event["channel"], seq))
        self.answer(*((503, b'{"error": "overloaded"}') if failing else (200, b"{}")))


@pytest.fixture
def fails_once() -> Iterator[Any]:
    # Request 7 is in the first round (50 requests).
    with http_server(
        _FailsOnce, lock=threading.Lock(), requests=0, fail_at=7, accepted=[]
    ) as server:
        yield server


def test_a_failed_round_gives_back_the_round_claimed_behind_it(settings, fails_once):
    settings.TOOLBOX_REALTIME = {
        **django_settings.TOOLBOX_REALTIME,
        **QUIET,
        "BACKEND": PUSHER_BACKEND,
        "PORT": fails_once.server_address[1],
        "RETRY_BASE_SECONDS": 0.05,
        "RETRY_MAX_SECONDS": 0.1,
        "HISTORY_MAX_PER_CHANNEL": COUNT,  # keep every row to read its tries
    }
    enqueue("public-lane", COUNT)
    drain()
    accepted: list[tuple[str, int]] = fails_once.accepted  # type: ignore[attr-defined]
    # Every event accepted once, in order: the rows of the refused request were
    # retried before anything behind them, the round claimed behind went back.
    assert [seq for _, seq in accepted] == list(range(1, COUNT + 1))
    rows = OutboxEvent.objects.filter(channel="public-lane")
    retried = list(rows.filter(attempts=2).order_by("seq").values_list("seq", flat=True))
    assert retried == list(range(61, 71))  # the 7th request of 10 events, tried twice
    assert not rows.exclude(attempts__in=[1, 2]).exists()  # given back: tries not counted
    assert rows.filter(state="delivered").count() == COUNT


def test_a_send_that_breaks_gives_its_round_and_the_next_back(settings, monkeypatch, caplog):
    """A bug in a round's send (each request's own failures are caught) loses
    nothing: that round and the one claimed behind it are given back, then sent
    in order with the same numbers."""
    settings.TOOLBOX_REALTIME = {**django_settings.TOOLBOX_REALTIME, **QUIET}
    locmem.outbox.clear()
    enqueue("public-lane", COUNT)
    real_send, calls = rounds.send_without_counting, []

    def breaks_once(claimed: list[lanes.Claimed]) -> lanes.Outcome:
        calls.append(len(claimed))
        if len(calls) == 1:
            raise RuntimeError("a bug in the send")
        return real_send(claimed)

    monkeypatch.setattr(rounds, "send_without_counting", breaks_once)
    worker = drain()
    assert "Sending a round failed unexpectedly" in caplog.text
    assert worker.totals["released"] == 2 * lanes.WORKER_ROUND_ROWS  # both rounds back
    seqs = [json.loads(event.data)[envelope.KEY]["seq"] for event in locmem.outbox]
    assert seqs == list(range(1, COUNT + 1))  # each once, in order
    assert len(calls) >= 4  # the broken round, then three that went out
