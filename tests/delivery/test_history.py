"""The delivery history (``delivery.history``) and ``GET history``: rows made by the
real path (publish -> first try with the locmem backend, or realtime_deliver), served
in sequence order after ``after``, in pages of ``limit``, within the history bounds;
and, with a real soketi, the ``_rt`` ids a real client received equal the history's."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_toolbox_realtime.backends import OutgoingEvent, locmem
from django_toolbox_realtime.delivery import history, sender
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.exceptions import RealtimeValidationError
from django_toolbox_realtime.models import OutboxEvent
from django_toolbox_realtime.validation import encode_payload

pytestmark = pytest.mark.django_db(transaction=True)

HISTORY_URL = "/api/v1/pusher/history"


def make(channel: str, data: Any, name: str = "changed") -> OutgoingEvent:
    return OutgoingEvent(id="", name=name, channels=(channel,), data=encode_payload(data))


def received(channel: str) -> list[dict[str, Any]]:
    """What the locmem backend was sent on ``channel``, decoded."""
    return [
        {"event": e.name, "data": json.loads(e.data)}
        for e in locmem.outbox
        if channel in e.channels
    ]


def realtime(settings: Any, **overrides: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, **overrides}


def deliver() -> str:
    out = StringIO()
    call_command("realtime_deliver", "--once", stdout=out)
    return out.getvalue()


# --- what was delivered, in order, after `after` ----------------------------------------


def test_the_history_is_what_was_delivered_in_sequence_order():
    for n in range(5):
        publish([make("public-h", {"n": n}, name=f"e{n}")])
    publish([make("public-other", {"n": 99})])
    page = history.read("public-h")
    assert [e["seq"] for e in page.events] == [1, 2, 3, 4, 5]
    # The same payload the client got: the "_rt" envelope included.
    assert [{"event": e["event"], "data": e["data"]} for e in page.events] == received("public-h")
    assert all(e["data"]["_rt"] == {"id": e["id"], "seq": e["seq"]} for e in page.events)
    assert all(e["delivered_at"] for e in page.events)
    assert (page.next_after, page.truncated, page.oldest_seq) == (5, False, 1)


def test_after_and_limit_page_through_the_history():
    for n in range(5):
        publish([make("public-h", {"n": n})])
    assert [e["seq"] for e in history.read("public-h", after=2).events] == [3, 4, 5]
    seen, after, pages = [], 0, 0
    while pages < 10:  # bounded
        page = history.read("public-h", after=after, limit=2)
        seen += [e["seq"] for e in page.events]
        after, pages = page.next_after, pages + 1
        if not page.truncated:
            break
    assert seen == [1, 2, 3, 4, 5] and pages == 3
    empty = history.read("public-h", after=5)
    assert (empty.events, empty.next_after, empty.truncated, empty.oldest_seq) == ([], 5, False, 1)
    nothing = history.read("public-never")
    assert (nothing.events, nothing.next_after, nothing.oldest_seq) == ([], 0, None)


def test_the_page_tells_the_channels_position_for_a_client_with_no_event_yet():
    """A client that subscribed to a quiet channel learns where it stands (last_seq)
    from an empty page, so its first catch-up has a baseline."""
    for n in range(3):
        publish([make("public-h", {"n": n})])
    page = history.read("public-h", after=10**9, limit=1)
    assert (page.events, page.last_seq) == ([], 3)
    assert page.as_dict()["last_seq"] == 3
    assert history.read("public-never").as_dict()["last_seq"] is None


def test_only_delivered_events_are_history(settings):
    realtime(settings, FIRST_ATTEMPT="off")
    publish([make("public-h", {"n": 1})])
    assert OutboxEvent.objects.get().state == "pending"
    assert history.read("public-h").events == []
    deliver()
    assert [e["data"]["n"] for e in history.read("public-h").events] == [1]


def test_non_object_payloads_are_served_as_sent():
    publish([OutgoingEvent(id="", name="e", channels=("public-h",), data="[1, 2]")])
    [event] = history.read("public-h").events
    assert event["data"] == [1, 2] and event["seq"] == 1


# --- the bounds ------------------------------------------------------------------------


def test_the_count_bound_holds_before_and_after_pruning(settings):
    realtime(settings, HISTORY_MAX_PER_CHANNEL=3)
    for n in range(5):
        publish([make("public-h", {"n": n})])
    # Before the worker prunes: the endpoint already serves only the kept window.
    page = history.read("public-h")
    assert [e["seq"] for e in page.events] == [3, 4, 5] and page.oldest_seq == 3
    deliver()  # prunes at the end of its rounds
    assert sorted(OutboxEvent.objects.values_list("seq", flat=True)) == [3, 4, 5]
    body = Client().get(HISTORY_URL, {"channel": "public-h"}).json()
    assert [e["seq"] for e in body["events"]] == [3, 4, 5] and body["oldest_seq"] == 3


def test_the_age_bound_hides_old_events(settings):
    for n in range(3):
        publish([make("public-h", {"n": n})])
    old = timezone.now() - dt.timedelta(days=2)
    OutboxEvent.objects.filter(seq=1).update(delivered_at=old)  # the only way to age a row
    page = history.read("public-h")
    assert [e["seq"] for e in page.events] == [2, 3] and page.oldest_seq == 2


def test_a_zero_count_bound_keeps_no_history(settings):
    realtime(settings, HISTORY_MAX_PER_CHANNEL=0)
    publish([make("public-h", {"n": 1})])
    page = history.read("public-h")
    assert (page.events, page.oldest_seq) == ([], None)


def test_huge_bounds_serve_everything(settings):
    realtime(settings, HISTORY_MAX_PER_CHANNEL=10**30, HISTORY_MAX_AGE_SECONDS=10**30)
    publish([make("public-h", {"n": 1})])
    assert [e["seq"] for e in history.read("public-h").events] == [1]


# --- arguments and costs -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "-1", "1" * 19, "1.5", " 1", "1 ", "", "١", "+1", "0x1"])
def test_after_must_be_a_small_non_negative_integer(value):
    with pytest.raises(RealtimeValidationError, match="after"):
        history.parse_after(value)


def test_after_and_limit_parse():
    assert history.parse_after(None) == 0
    assert history.parse_after("9" * 18) == 10**18 - 1
    assert history.parse_limit(None) == 100 and history.parse_limit("1") == 1
    for bad in ("0", "101", "abc", "", "1" * 30):
        with pytest.raises(RealtimeValidationError, match="HISTORY_PAGE_MAX"):
            history.parse_limit(bad)


def test_the_page_max_setting_is_read_and_checked(settings):
    realtime(settings, HISTORY_PAGE_MAX=5)
    assert history.parse_limit(None) == 5
    with pytest.raises(RealtimeValidationError, match="1-5"):
        history.parse_limit("6")
    realtime(settings, HISTORY_PAGE_MAX=0)
    with pytest.raises(Exception, match="HISTORY_PAGE_MAX"):
        history.parse_limit(None)


def test_the_number_of_queries_does_not_grow_with_the_page():
    publish([make("public-one", {"n": 0})])
    for n in range(30):
        publish([make("public-many", {"n": n})])
    counts = []
    for channel in ("public-one", "public-many"):
        with CaptureQueriesContext(connection) as queries:
            page = history.read(channel)
        counts.append(len(queries))
        assert page.events
    assert counts[0] == counts[1] <= 3


# --- with a real soketi and a real client ----------------------------------------------


@pytest.mark.integration
def test_a_real_clients_received_ids_equal_the_history(ws_client, soketi):
    client = ws_client()
    client.subscribe("public-e2e")
    accepted = [publish([make("public-e2e", {"n": n}, name="tick")])[0] for n in range(3)]
    got = client.wait_for_count("tick", 3, channel="public-e2e")
    assert sender.wait_idle(20)
    wire = [json.loads(m["data"]) for m in got]
    body = Client().get(HISTORY_URL, {"channel": "public-e2e"}).json()
    assert [e["data"] for e in body["events"]] == wire  # the very payloads received
    assert [e["id"] for e in body["events"]] == [d["_rt"]["id"] for d in wire]
    assert [e["id"] for e in body["events"]] == [a.id for a in accepted]
    # Catching up after the first one: the two later events.
    later = Client().get(HISTORY_URL, {"channel": "public-e2e", "after": wire[0]["_rt"]["seq"]})
    assert [e["data"] for e in later.json()["events"]] == wire[1:]
