"""Sender exclusion through the bridge: a save made by a request with an
``X-Socket-ID`` header (SocketIDMiddleware) excludes that socket from the channel
events; events to a user (``to_user``) reach all of the user's connections."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from django_toolbox_realtime.middleware import SocketIDMiddleware
from example_project.classroom.models import Agent, Quiz, QuizAttempt
from tests.helpers import bearer_headers, form_post


@pytest.mark.django_db
def test_a_save_in_a_request_excludes_the_senders_socket_but_not_to_user(
    demo: Any, realtime_outbox: Any, commit: Any
) -> None:
    student, quiz = demo["student"], Quiz.objects.get(pk=1)

    def view(request: HttpRequest) -> HttpResponse:
        QuizAttempt.objects.create(quiz=quiz, student=student, number=1, score=3)
        return HttpResponse()

    with commit():
        SocketIDMiddleware(view)(RequestFactory().post("/", HTTP_X_SOCKET_ID="12.34"))
    (teachers,) = realtime_outbox.events(channel="private-teacher")
    (result,) = realtime_outbox.events(channel=f"#server-to-user-{student.pk}")
    assert (teachers["event"], teachers["socket_id"]) == ("quiz-submitted", "12.34")
    assert (result["event"], result["socket_id"]) == ("quiz-result", None)
    assert {k: v for k, v in result["data"].items() if k != "_rt"} == {
        "quiz_id": 1,
        "score": 3,
        "total": 3,
    }


@pytest.mark.django_db
def test_the_answer_lists_the_ids_the_bridge_sent_without_the_sender(
    demo: Any, realtime_outbox: Any, commit: Any
) -> None:
    """Two saves of one agent in one transaction are coalesced (the later events
    keep the earlier ids): the header lists exactly the ids that were sent on the
    channels, and not the to_user event of an attempt, which reaches the sender."""
    agent, student, quiz = Agent.objects.get(name="grader"), demo["student"], Quiz.objects.get(pk=1)

    def view(request: HttpRequest) -> HttpResponse:
        with transaction.atomic():
            agent.status = Agent.Status.BUSY
            agent.save()
            agent.status = Agent.Status.IDLE
            agent.save()
        QuizAttempt.objects.create(quiz=quiz, student=student, number=1, score=3)
        return HttpResponse()

    with commit():
        response = SocketIDMiddleware(view)(RequestFactory().post("/", HTTP_X_SOCKET_ID="12.34"))
    sent = realtime_outbox.events()
    excluded = [e["id"] for e in sent if e["socket_id"] == "12.34"]
    agent_events = [e for e in sent if e["event"].startswith("agent.")]
    private = f"private-agent-{agent.pk}"
    assert [e["channels"] for e in agent_events] == [["agent-status"], [private]]
    assert len(excluded) == 3  # agent-status, private-agent-<id> (coalesced), private-teacher
    assert sorted(response["X-Realtime-Event-Ids"].split(",")) == sorted(excluded)
    (to_user,) = [e for e in sent if e["socket_id"] is None]
    assert to_user["id"] not in response["X-Realtime-Event-Ids"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_client_that_changed_an_agent_gets_no_echo_on_soketi(
    client: Any, demo: Any, soketi: Any, ws_client: Any, token_client: Any, settings: Any
) -> None:
    """Two real connections on agent-status; the admin's request carries the
    sender's socket id: only the other one hears agent.busy (and its details on
    private-agent-<id>). A later change without the header reaches both."""
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "FIRST_ATTEMPT": "inline"}
    agent = Agent.objects.get(name="grader")
    sender, other = ws_client(), ws_client()
    for connection in (sender, other):
        assert connection.subscribe("agent-status")["event"].endswith("subscription_succeeded")
    private = f"private-agent-{agent.pk}"
    signed = form_post(token_client(demo["admin"]), socket_id=other.socket_id, channel_name=private)
    assert other.subscribe(private, auth=signed.json()["auth"])["event"].endswith("succeeded")
    headers = bearer_headers(demo["admin"])

    busy = client.post(
        "/api/v1/agents/grader/status",
        {"status": "busy"},
        content_type="application/json",
        HTTP_X_SOCKET_ID=sender.socket_id,
        **headers,
    )
    assert busy.status_code == 200, busy.content
    assert len(busy.json()["events"]) == 2
    # What realtime.js reads to tell its own events from others' in a catch-up.
    assert busy["X-Realtime-Event-Ids"].split(",") == busy.json()["events"]
    summary = other.wait_for(
        lambda m: m.get("event") == "agent.busy" and m["channel"] == "agent-status"
    )
    details = other.wait_for(lambda m: m.get("event") == "agent.busy" and m["channel"] == private)
    assert {k: v for k, v in json.loads(summary["data"]).items() if k != "_rt"} == {
        "agent": "grader",
        "status": "busy",
    }
    assert json.loads(details["data"])["by"] == "admin"
    assert json.loads(details["data"])["id"] == agent.pk

    offline = client.post(
        "/api/v1/agents/grader/status",
        {"status": "offline"},
        content_type="application/json",
        **headers,
    )
    assert offline.status_code == 200
    assert "X-Realtime-Event-Ids" not in offline  # no X-Socket-ID: nobody was excluded
    # Once the sender has the later event, the earlier one (sent before it on the
    # same channel) would have arrived too: it never did.
    sender.wait_for(lambda m: m.get("event") == "agent.stopped")
    assert [m["event"] for m in sender.messages if m.get("channel") == "agent-status"] == [
        "pusher_internal:subscription_succeeded",
        "agent.stopped",
    ]
