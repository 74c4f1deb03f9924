"""Cases 21-28: delivery. The real Pusher backend talks to a local HTTP server
that answers what the row needs (``stub`` in conftest.py). Saves go through
``publish`` (the outbox, after commit: ``django_capture_on_commit_callbacks``
runs the commit hooks the test's own transaction would hold back)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.db import transaction

from django_toolbox_realtime import trigger_batch, trigger_event
from django_toolbox_realtime.backends import OutgoingEvent, locmem
from django_toolbox_realtime.delivery import lanes, rounds
from django_toolbox_realtime.delivery.api import new_event_id
from django_toolbox_realtime.delivery.outbox import outbox_database
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.exceptions import RealtimeValidationError
from django_toolbox_realtime.models import OutboxEvent
from tests.security.cases import SECRET, case

State = OutboxEvent.State


def save(capture: Any, channel: str = "private-x", count: int = 1) -> None:
    """A committed transaction that publishes ``count`` events on ``channel``."""
    events = [
        OutgoingEvent(
            id=new_event_id(), name="saved", channels=(channel,), data=json.dumps({"i": i})
        )
        for i in range(count)
    ]
    with capture(execute=True), transaction.atomic():
        publish(events)


def sent(stub: Any) -> list[dict[str, Any]]:
    """Every event the stub received, single or in a batch."""
    return [e for body in stub.posts() for e in body.get("batch", [body])]


def deliver_when_due(timeout: float = 10) -> None:
    """Delivery rounds (what ``realtime_deliver`` runs) until nothing is pending."""
    deadline = time.monotonic() + timeout
    while OutboxEvent.objects.filter(state=State.PENDING).exists():
        assert time.monotonic() < deadline, "still pending"
        rounds.run_round(outbox_database())


@case(21, "rolled-back-transaction-sends-nothing")
def _(stub: Any, django_capture_on_commit_callbacks: Any) -> None:
    capture = django_capture_on_commit_callbacks(execute=True)
    with capture, pytest.raises(RuntimeError), transaction.atomic():
        publish(
            [OutgoingEvent(id=new_event_id(), name="saved", channels=("private-x",), data="{}")]
        )
        raise RuntimeError("rollback")
    assert not OutboxEvent.objects.exists() and stub.posts() == [] and locmem.outbox == []


@case(22, "server-failure-never-fails-the-request-and-retries")
def _(stub: Any, django_capture_on_commit_callbacks: Any) -> None:
    stub.status = 500
    save(django_capture_on_commit_callbacks)  # no exception: the request goes on
    row = OutboxEvent.objects.get()
    assert (row.state, row.attempts) == (State.PENDING, 1) and "500" in row.last_error
    stub.status = 200
    deliver_when_due()
    assert OutboxEvent.objects.get().state == State.DELIVERED
    assert sent(stub)[-1]["name"] == "saved"


@case(23, "killed-after-commit-delivered-later-same-id")
def _(stub: Any, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "FIRST_ATTEMPT": "off"}
    save(django_capture_on_commit_callbacks)  # committed; the process "dies" before a send
    assert stub.posts() == []
    event_id = OutboxEvent.objects.get().event_id
    deliver_when_due()
    assert json.loads(sent(stub)[0]["data"])["_rt"]["id"] == event_id


@case(24, "refused-by-server-marked-failed-not-retried")
def _(stub: Any, django_capture_on_commit_callbacks: Any) -> None:
    stub.status = 413
    save(django_capture_on_commit_callbacks)
    row = OutboxEvent.objects.get()
    assert row.state == State.FAILED and "413" in row.last_error
    sent = len(stub.posts())
    rounds.run_round(outbox_database())
    assert len(stub.posts()) == sent


@case(25, "payload-over-10kb-is-a-clear-error")
def _(db: Any) -> None:
    with pytest.raises(RealtimeValidationError) as caught:
        trigger_event("private-x", "saved", {"text": "€" * 4_000})
    assert "10" in str(caught.value) and not OutboxEvent.objects.exists()


@case(26, "fan-out-and-batches-split-into-allowed-requests")
def _(stub: Any) -> None:
    channels = [f"private-c{i}" for i in range(250)]
    trigger_event(channels, "fan", {"n": 1})
    trigger_batch([{"channel": "private-b", "name": f"e{i}", "data": {}} for i in range(25)])
    bodies = stub.posts()
    singles = [b for b in bodies if "channels" in b]
    batches = [b["batch"] for b in bodies if "batch" in b]
    assert all(len(b["channels"]) <= 100 for b in singles)
    assert sorted(c for b in singles for c in b["channels"]) == sorted(channels)
    assert all(len(b) <= 10 for b in batches) and sum(map(len, batches)) == 25


@case(27, "two-workers-never-claim-the-same-event")
def _(stub: Any, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "FIRST_ATTEMPT": "off"}
    for i in range(3):
        save(django_capture_on_commit_callbacks, f"private-w{i}", count=4)
    alias, names = outbox_database(), [f"private-w{i}" for i in range(3)]
    first = lanes.claim(alias, names)
    second = lanes.claim(alias, names)  # another worker while the first holds its lanes
    assert len(first) > 0 and second == []


@case(28, "health-asks-the-server-once-per-period-no-secret")
def _(stub: Any, client: Any, settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "HEALTH_TOKEN": "h" * 32}
    for _ in range(20):  # probes far faster than HEALTH_CACHE_SECONDS (10)
        response = client.get("/health/pusher/status", HTTP_AUTHORIZATION="Bearer " + "h" * 32)
        assert response.status_code in (200, 503) and SECRET not in response.content.decode()
    assert len([r for r in stub.requests if r[0] == "GET"]) <= 1
