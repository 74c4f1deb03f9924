"""Per-channel order when rows commit out of id order. On PostgreSQL a row gets its
id at INSERT and becomes visible at COMMIT: a request that inserted first can commit
after a later one whose row was already numbered and leased. That late row must not
overtake: numbered rows go first, in seq order, and a numbered row that is leased
(being sent) or waiting for its retry holds every row behind it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.delivery import lanes
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.models import OutboxEvent
from django_toolbox_realtime.validation import encode_payload

pytestmark = pytest.mark.django_db(transaction=True)

CHANNEL = "public-order"


@pytest.fixture(autouse=True)
def outbox_only(settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "DELIVERY": "outbox",
        "FIRST_ATTEMPT": "off",
    }


def write(n: int) -> OutboxEvent:
    publish([OutgoingEvent("", "tick", (CHANNEL,), encode_payload({"n": n}))])
    return OutboxEvent.objects.filter(channel=CHANNEL).latest("pk")


def late_row_before(row: OutboxEvent, n: int) -> OutboxEvent:
    """A row with a lower id than ``row`` that only now became visible (committed):
    written now, then given the free id just below ``row``'s."""
    late = write(n)
    OutboxEvent.objects.filter(pk=late.pk).update(id=row.pk - 1)
    return OutboxEvent.objects.get(pk=row.pk - 1)


def test_a_late_committed_row_waits_while_the_earlier_numbered_row_is_leased():
    write(0)  # pk k: gap left below the next row
    OutboxEvent.objects.filter(channel=CHANNEL).delete()
    first = write(1)
    assert [c.seq for c in lanes.claim("default", [CHANNEL])] == [1]  # leased, being sent
    late_row_before(first, 2)
    # The late row (lower id) must not be sent beside / before seq 1 still in flight.
    assert lanes.claim("default", [CHANNEL]) == []


def test_a_numbered_row_waiting_for_its_retry_keeps_the_late_row_behind_it():
    write(0)
    OutboxEvent.objects.filter(channel=CHANNEL).delete()
    first = write(1)
    assert [c.seq for c in lanes.claim("default", [CHANNEL])] == [1]
    # seq 1 failed: it waits for its retry (not due yet).
    OutboxEvent.objects.filter(pk=first.pk).update(
        next_attempt_at=timezone.now() + dt.timedelta(seconds=60)
    )
    late_row_before(first, 2)
    assert lanes.claim("default", [CHANNEL]) == []
    # Once seq 1 is due again, it goes first, then the late row as seq 2.
    OutboxEvent.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
    claimed = lanes.claim("default", [CHANNEL])
    assert [(c.pk, c.seq) for c in claimed] == [(first.pk, 1), (first.pk - 1, 2)]
