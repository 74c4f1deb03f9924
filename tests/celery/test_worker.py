"""``DELIVERY = "celery"`` with real parts: a Celery worker subprocess on the local
Redis (database 5), soketi, a WebSocket client, and the database the test shares
with the worker (PostgreSQL, or a file SQLite database).

Proven here: committed events (published directly, and model saves through the
bridge) reach a client with their ids in order and numbered 1, 2, 3... per channel
while four worker threads share the tasks; a rollback (of the transaction or of a
savepoint) enqueues nothing and sends nothing; with the broker unreachable the
save succeeds, the row stays pending, and the periodic sweep run by a real
``celery beat`` (the schedule of docs/delivery.md) delivers it later.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.contrib.celery import enqueue
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.models import OutboxEvent
from example_project.classroom.models import Agent
from tests.celery import celery_app, processes
from tests.celery.conftest import QUEUE, worker_settings

pytestmark = pytest.mark.integration

DELIVERED = OutboxEvent.State.DELIVERED


def event(channel: str, name: str, **data: Any) -> OutgoingEvent:
    return OutgoingEvent(id="", name=name, channels=(channel,), data=json.dumps(data))


def rt(message: dict[str, Any]) -> dict[str, Any]:
    return json.loads(message["data"])["_rt"]


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll ``condition`` (a database query) until it holds; AssertionError after
    ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def received(client: Any, channel: str) -> list[str]:
    return [
        m["event"]
        for m in client.messages
        if m.get("channel") == channel and not m["event"].startswith("pusher")
    ]


def test_a_real_worker_delivers_committed_events_in_order_on_each_channel(
    live_worker, celery_settings, ws_client, enqueued
):
    client = ws_client()
    channels = ("public-celery-order-a", "public-celery-order-b")
    for channel in channels:
        client.subscribe(channel)
    published: dict[str, list[str]] = {channel: [] for channel in channels}
    for batch in range(10):
        with transaction.atomic():
            for n in range(3):
                for channel in channels:
                    [accepted] = publish([event(channel, "tick", n=batch * 3 + n)])
                    published[channel].append(accepted.id)
    assert enqueue.wait_idle(30)
    for channel in channels:
        messages = client.wait_for_count("tick", 30, timeout=90, channel=channel)
        assert [rt(m)["id"] for m in messages] == published[channel]
        assert [rt(m)["seq"] for m in messages] == list(range(1, 31))
        assert [json.loads(m["data"])["n"] for m in messages] == list(range(30))
    # Each commit handed its channels to the deliver task, on the configured queue.
    assert enqueued
    assert {t["task"] for t in enqueued} == {"django_toolbox_realtime.deliver"}
    assert {t["queue"] for t in enqueued} == {QUEUE}
    assert {c for t in enqueued for c in t["args"][0]} == set(channels)
    wait_until(
        lambda: OutboxEvent.objects.filter(channel__in=channels, state=DELIVERED).count() == 60
    )
    assert len(received(client, channels[0])) == 30  # nothing sent twice


def test_model_saves_reach_a_client_through_the_worker(live_worker, celery_settings, ws_client):
    client = ws_client()
    client.subscribe("agent-status")
    name = f"celery-{uuid.uuid4().hex[:8]}"
    with transaction.atomic():
        agent = Agent.objects.create(name=name)
    with transaction.atomic():
        agent.status = Agent.Status.BUSY
        agent.save()

    def of_agent(event_name: str) -> dict[str, Any]:
        return client.wait_for(
            lambda m: m["event"] == event_name and json.loads(m["data"]).get("agent") == name,
            timeout=60,
        )

    started, busy = of_agent("agent.started"), of_agent("agent.busy")
    assert json.loads(busy["data"])["status"] == "busy"
    assert rt(busy)["seq"] == rt(started)["seq"] + 1


def test_a_rollback_enqueues_nothing_and_sends_nothing(
    live_worker, celery_settings, ws_client, enqueued
):
    channel = "public-celery-rollback"
    client = ws_client()
    client.subscribe(channel)
    with pytest.raises(RuntimeError), transaction.atomic():
        publish([event(channel, "rolled-back")])
        raise RuntimeError("roll back")
    with transaction.atomic():
        with contextlib.suppress(RuntimeError), transaction.atomic():  # a savepoint
            publish([event(channel, "rolled-back")])
            raise RuntimeError("roll back the savepoint")
        [kept] = publish([event(channel, "kept")])
    assert enqueue.wait_idle(30)
    assert [t["args"][0] for t in enqueued] == [[channel]]  # the commit, once
    message = client.wait_for(lambda m: m.get("channel") == channel and m["event"] == "kept", 60)
    # Per-channel order: a rolled-back event, had it been written, would come first.
    assert rt(message) == {"id": kept.id, "seq": 1}
    assert received(client, channel) == ["kept"]
    rows = OutboxEvent.objects.filter(channel=channel)
    assert list(rows.values_list("event_id", flat=True)) == [kept.id]


def test_with_the_broker_down_the_save_succeeds_and_the_sweep_delivers_later(
    live_worker,
    worker_db,
    celery_settings,
    settings,
    soketi_server,
    ws_client,
    enqueued,
    caplog,
    tmp_path,
):
    settings.TOOLBOX_REALTIME = {
        **celery_settings,
        "CELERY_APP": "tests.celery.celery_app.unreachable",
    }
    caplog.set_level(logging.WARNING, logger="django_toolbox_realtime")
    channel = "public-celery-outage"
    client = ws_client()
    client.subscribe(channel)
    began = time.perf_counter()
    with transaction.atomic():
        [late] = publish([event(channel, "late")])
    took = time.perf_counter() - began
    assert enqueue.wait_idle(60)  # the enqueue was tried (in the background) and failed
    print(f"\ncommit with the broker unreachable: {took * 1000:.1f} ms")
    assert enqueued == []
    row = OutboxEvent.objects.get(event_id=late.id)
    assert (row.state, row.attempts) == (OutboxEvent.State.PENDING, 0)
    assert "not enqueued" in caplog.text and "sweep" in caplog.text
    assert celery_app.BROKER_PASSWORD not in caplog.text

    beat = processes.celery(
        ["beat", "--schedule", str(tmp_path / "beat-schedule"), "--loglevel=INFO"],
        worker_db,
        worker_settings(soketi_server),
    )
    try:
        message = client.wait_for(
            lambda m: m.get("channel") == channel and m["event"] == "late", timeout=90
        )
    finally:
        beat.stop()
    assert rt(message) == {"id": late.id, "seq": 1}
    assert "django_toolbox_realtime.sweep" in beat.output()
    wait_until(lambda: OutboxEvent.objects.get(event_id=late.id).state == DELIVERED)
    live_worker.wait_for_line("django_toolbox_realtime.sweep[", timeout=30)
