"""Sender exclusion: ``X-Socket-ID`` (SocketIDMiddleware) becomes the ``socket_id``
of events the request sends, so the connection that made a change gets no echo
(SECURITY_CASES 38: a malformed header is ignored, never a 500)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from django_toolbox_realtime import (
    atrigger_event,
    including_sender,
    send_to_user,
    trigger_batch,
    trigger_event,
)
from django_toolbox_realtime.backends import locmem
from django_toolbox_realtime.delivery.socket_context import (
    MAX_EVENT_IDS_HEADER_LENGTH,
    MAX_SENDER_EVENT_IDS,
    current_socket_id,
    sender_socket,
)
from django_toolbox_realtime.middleware import SocketIDMiddleware

MIDDLEWARE = "django_toolbox_realtime.middleware.SocketIDMiddleware"


def run_through_middleware(header: str | None, view: Any) -> HttpResponse:
    request = RequestFactory().post("/", **({"HTTP_X_SOCKET_ID": header} if header else {}))
    return SocketIDMiddleware(view)(request)


def sending_view(request: HttpRequest) -> HttpResponse:
    trigger_event("public-board", "changed", {"n": 1})
    return HttpResponse(str(current_socket_id()))


def test_the_header_becomes_the_socket_id_of_events_sent_in_the_request() -> None:
    response = run_through_middleware("123.456", sending_view)
    assert response.content == b"123.456"
    assert [e.socket_id for e in locmem.outbox] == ["123.456"]
    assert current_socket_id() is None  # reset after the request


def test_without_the_header_nobody_is_excluded() -> None:
    run_through_middleware(None, sending_view)
    assert [e.socket_id for e in locmem.outbox] == [None]


@pytest.mark.parametrize(
    "header",
    ["1.1:private-admin", "1.1\n", "١٢٣.٤٥٦", "abc", "1." + "9" * 10_000, "..", "1.1.1"],
)
def test_a_malformed_header_is_ignored_and_logged_at_debug(header: str, caplog: Any) -> None:
    with caplog.at_level(logging.DEBUG, logger="django_toolbox_realtime.middleware"):
        response = run_through_middleware(header, sending_view)
    assert response.status_code == 200
    assert [e.socket_id for e in locmem.outbox] == [None]
    assert "malformed X-Socket-ID" in caplog.text
    assert header not in caplog.text  # the value is not echoed into the logs


def test_an_explicit_socket_id_wins_over_the_header() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        trigger_event("public-board", "changed", {}, socket_id="9.9")
        return HttpResponse()

    run_through_middleware("1.2", view)
    assert [e.socket_id for e in locmem.outbox] == ["9.9"]


def test_batch_items_exclude_the_sender_unless_they_name_a_socket() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        trigger_batch(
            [
                {"channel": "public-a", "event": "e", "data": {}},
                {"channel": "public-b", "event": "e", "data": {}, "socket_id": "7.7"},
            ]
        )
        return HttpResponse()

    run_through_middleware("1.2", view)
    assert [e.socket_id for e in locmem.outbox] == ["1.2", "7.7"]


def test_send_to_user_reaches_the_senders_own_connection() -> None:
    # A message for a user (a quiz result) is meant for them: no exclusion.
    def view(request: HttpRequest) -> HttpResponse:
        send_to_user(5, "quiz-result", {"score": 1})
        return HttpResponse()

    run_through_middleware("1.2", view)
    assert [e.socket_id for e in locmem.outbox] == [None]


def test_including_sender_and_nesting_restore_the_outer_value() -> None:
    with sender_socket("1.1"):
        with including_sender():
            assert current_socket_id() is None
        assert current_socket_id() == "1.1"
    assert current_socket_id() is None


def test_async_views_get_the_same_exclusion() -> None:
    async def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(str(current_socket_id()))

    middleware = SocketIDMiddleware(view)
    assert asyncio.iscoroutinefunction(middleware)
    request = RequestFactory().post("/", HTTP_X_SOCKET_ID="55.66")
    response = asyncio.run(middleware(request))  # type: ignore[arg-type]
    assert response.content == b"55.66"


@pytest.mark.integration
def test_trigger_event_skips_the_senders_real_connection(soketi: Any, ws_client: Any) -> None:
    # The delivery API on its own (the bridge's path through the example's agent view
    # is tested in tests/bridge/test_sender_exclusion.py): two real connections; the
    # request carries A's socket id.
    sender, other = ws_client(), ws_client()
    for connection in (sender, other):
        connection.subscribe("public-board")

    def view(request: HttpRequest) -> HttpResponse:
        trigger_event("public-board", "changed", {"n": 1})
        return HttpResponse()

    run_through_middleware(sender.socket_id, view)
    other.wait_for(lambda m: m.get("event") == "changed")
    # A later event without the header reaches both: once the sender has it, the
    # earlier one (sent before it on the same channel) would have arrived too.
    trigger_event("public-board", "later", {})
    sender.wait_for(lambda m: m.get("event") == "later")
    assert [m["event"] for m in sender.messages if m.get("channel") == "public-board"] == [
        "pusher_internal:subscription_succeeded",
        "later",
    ]


# X-Realtime-Event-Ids: the ids of the events the request sent without the sender, so
# its browser can tell them apart when a catch-up replays them from the history.
EVENT_IDS = "X-Realtime-Event-Ids"


def test_the_answer_lists_the_ids_of_the_events_that_excluded_the_sender() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        first = trigger_event("public-board", "changed", {"n": 1})
        batch = trigger_batch(
            [
                {"channel": "public-a", "event": "e", "data": {}, "id": "batch-1"},
                {"channel": "public-b", "event": "e", "data": {}, "socket_id": "7.7"},
            ]
        )
        trigger_event("public-board", "other", {}, socket_id="9.9")  # not the sender's
        send_to_user(5, "quiz-result", {})  # reaches the sender: not listed
        with including_sender():
            trigger_event("public-board", "to-all", {})
        return HttpResponse(f"{first['id']},{batch['events'][0]['id']}")

    response = run_through_middleware("1.2", view)
    assert response[EVENT_IDS] == response.content.decode()
    assert response[EVENT_IDS].split(",")[1] == "batch-1"
    assert len(locmem.outbox) == 6


@pytest.mark.parametrize("header", [None, "abc", "1.1:private-admin"])
def test_no_event_ids_header_without_a_valid_socket_id(header: str | None) -> None:
    response = run_through_middleware(header, sending_view)
    assert len(locmem.outbox) == 1
    assert EVENT_IDS not in response


def test_no_event_ids_header_when_nothing_was_sent() -> None:
    response = run_through_middleware("1.2", lambda request: HttpResponse())
    assert EVENT_IDS not in response


def test_the_event_ids_header_is_bounded() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        for n in range(MAX_SENDER_EVENT_IDS + 20):
            trigger_event("public-board", "changed", {}, event_id=f"id-{n:03d}")
        return HttpResponse()

    response = run_through_middleware("1.2", view)
    ids = response[EVENT_IDS].split(",")
    assert ids == [f"id-{n:03d}" for n in range(MAX_SENDER_EVENT_IDS)]  # the first ones
    assert len(locmem.outbox) == MAX_SENDER_EVENT_IDS + 20  # all sent all the same


def test_long_event_ids_are_bounded_by_the_header_length() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        for n in range(MAX_SENDER_EVENT_IDS):
            trigger_event("public-board", "changed", {}, event_id=f"{n:03d}" + "x" * 61)
        return HttpResponse()

    value = run_through_middleware("1.2", view)[EVENT_IDS]
    assert 0 < len(value) <= MAX_EVENT_IDS_HEADER_LENGTH
    assert all(len(i) == 64 for i in value.split(","))


def test_a_request_inside_another_sender_context_lists_only_its_own_events() -> None:
    # A nested sender_socket() (a view excluding another connection) is not the
    # requester's: its events are not listed.
    def view(request: HttpRequest) -> HttpResponse:
        with sender_socket("8.8"):
            trigger_event("public-board", "theirs", {})
        trigger_event("public-board", "mine", {}, event_id="mine-1")
        return HttpResponse()

    assert run_through_middleware("1.2", view)[EVENT_IDS] == "mine-1"


def test_async_views_get_the_event_ids_header() -> None:
    async def view(request: HttpRequest) -> HttpResponse:
        await atrigger_event("public-board", "changed", {}, event_id="async-1")
        return HttpResponse()

    request = RequestFactory().post("/", HTTP_X_SOCKET_ID="55.66")
    response = asyncio.run(SocketIDMiddleware(view)(request))  # type: ignore[arg-type]
    assert response[EVENT_IDS] == "async-1"


def test_an_event_id_unfit_for_a_header_is_left_out() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        trigger_event("public-board", "changed", {}, event_id="bad\r\nSet-Cookie: x=1")
        trigger_event("public-board", "changed", {}, event_id="a,b")
        trigger_event("public-board", "changed", {}, event_id="good-1")
        return HttpResponse()

    response = run_through_middleware("1.2", view)
    assert response.status_code == 200
    assert response[EVENT_IDS] == "good-1"
    assert "Set-Cookie" not in response
