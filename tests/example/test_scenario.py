"""The example project's pinned endpoints and pages (DESIGN.md), on the demo data
(the ``demo`` fixture; the token endpoint is tested in tests/auth/test_example_project.py)."""

import pytest

from django_toolbox_realtime.backends import BaseBackend, OutgoingEvent
from django_toolbox_realtime.exceptions import RealtimeDeliveryError
from example_project.classroom.models import Agent
from tests.helpers import bearer_headers

pytestmark = pytest.mark.django_db


def test_quiz_submission_scores_and_notifies(client, demo, realtime_outbox):
    student = demo["student"]
    headers = bearer_headers(student)
    response = client.post(
        "/api/v1/quiz/1/submit",
        {"answers": ["4", "paris", "wrong"]},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200
    assert response.json() == {
        "quiz_id": 1,
        "score": 2,
        "total": 3,
        "attempt": 1,
        "attempts_left": 0,
    }
    realtime_outbox.assert_sent(
        "private-teacher",
        "quiz-submitted",
        {"quiz_id": 1, "score": 2, "student": "Sam Student"},
        count=1,
    )
    realtime_outbox.assert_sent(
        f"#server-to-user-{student.pk}", "quiz-result", {"score": 2, "total": 3}, count=1
    )


@pytest.mark.parametrize("username, status", [("teacher", 403), ("admin", 403)])
def test_only_students_submit(client, demo, realtime_outbox, username, status):
    headers = bearer_headers(demo[username])
    assert client.post("/api/v1/quiz/1/submit", {}, **headers).status_code == status
    assert client.post("/api/v1/quiz/1/submit", {}).status_code == 403  # anonymous
    assert len(realtime_outbox) == 0


def test_unknown_quiz_is_refused_like_a_forbidden_one(client, demo):
    """Not a 404: a quiz of another classroom gets the same answer (tests/example/
    test_quiz_rules.py), so a student cannot probe which quiz ids exist."""
    headers = bearer_headers(demo["student"])
    response = client.post("/api/v1/quiz/999/submit", {}, **headers)
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden", "detail": "You cannot submit this quiz."}


class FailingBackend(BaseBackend):
    """A server that refuses every event (records what it was asked to deliver)."""

    delivers_to_server = True
    attempts: list[str] = []

    def trigger(self, event: OutgoingEvent) -> None:
        FailingBackend.attempts.append(event.name)
        raise RealtimeDeliveryError("the server is down", status=503)

    def trigger_batch(self, events: list[OutgoingEvent]) -> None:
        FailingBackend.attempts.extend(event.name for event in events)
        raise RealtimeDeliveryError("the server is down", status=503)


def test_quiz_submission_succeeds_when_delivery_fails(client, demo, settings, monkeypatch):
    monkeypatch.setattr(FailingBackend, "attempts", [])
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "BACKEND": f"{__name__}.FailingBackend",
    }
    headers = bearer_headers(demo["student"])
    response = client.post(
        "/api/v1/quiz/1/submit", {"answers": ["4"]}, content_type="application/json", **headers
    )
    # Both notifications were attempted and failed; the student's request still succeeds.
    # (Two channels: the outbox does not order one channel's events after another's.)
    assert sorted(FailingBackend.attempts) == ["quiz-result", "quiz-submitted"]
    assert response.status_code == 200 and response.json()["score"] == 1


def test_agent_status_broadcasts_public_and_private(client, demo, realtime_outbox):
    headers = bearer_headers(demo["admin"])
    agent = Agent.objects.get(name="grader")
    response = client.post(
        "/api/v1/agents/grader/status",
        {"status": "busy"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "busy" and len(body["events"]) == 2 and body["delivered"]
    realtime_outbox.assert_sent("agent-status", "agent.busy", {"agent": "grader", "status": "busy"})
    realtime_outbox.assert_sent(
        f"private-agent-{agent.pk}", "agent.busy", {"id": agent.pk, "by": "admin"}
    )
    agent.refresh_from_db()
    assert agent.status == "busy"


def test_agent_status_rules(client, demo, realtime_outbox):
    admin = bearer_headers(demo["admin"])
    teacher = bearer_headers(demo["teacher"])
    bad = client.post(
        "/api/v1/agents/grader/status",
        {"status": "sleepy"},
        content_type="application/json",
        **admin,
    )
    assert bad.status_code == 400 and "idle" in bad.json()["detail"]
    assert (
        client.post(
            "/api/v1/agents/grader/status",
            {"status": "busy"},
            content_type="application/json",
            **teacher,
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/agents/nobody/status",
            {"status": "busy"},
            content_type="application/json",
            **admin,
        ).status_code
        == 404
    )
    assert len(realtime_outbox) == 0


def test_dashboard_requires_login_and_lists_role_channels(client, demo, settings):
    assert client.get("/")["Location"].startswith("/accounts/login/")
    assert client.get("/accounts/login/").status_code == 200
    assert client.login(username="student", password="demo1234")
    page = client.get("/").content.decode()
    assert "presence-classroom-101" in page and "private-student" in page
    assert "private-admin" not in page and "private-teacher" not in page
    assert settings.TOOLBOX_REALTIME["SECRET"] not in page
    assert settings.TOOLBOX_REALTIME["KEY"] in page


def test_admin_dashboard_lists_admin_and_agent_channels(client, demo):
    """The channels its panels show (the dashboard subscribes to nothing it does not
    display: private-system-health and private-agent-metrics have no panel)."""
    assert client.login(username="admin", password="demo1234")
    page = client.get("/").content.decode()
    agent = Agent.objects.get(name="grader")
    for channel in (
        "private-admin",
        "private-teacher",
        f"private-agent-{agent.pk}",
        "presence-classroom-101",
    ):
        assert channel in page
