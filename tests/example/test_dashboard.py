"""The dashboard's server side: what each role's page holds, the agent task counters,
the submission time in the teachers' feed, and the admins' test-notification
endpoint. (The page moving live is tested in real Chromium: tests/browser/.)"""

import pytest

from example_project.classroom.models import Agent, QuizAttempt
from tests.helpers import bearer_headers

pytestmark = pytest.mark.django_db

NOTIFY_URL = "/api/v1/notifications"


def page_of(client, username):
    assert client.login(username=username, password="demo1234")
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_student_page_has_the_quiz_with_radio_inputs_and_no_answers(client, demo):
    page = page_of(client, "student")
    assert 'id="quiz-form-1"' in page and 'id="result-card-1"' in page
    assert page.count('type="radio"') == 9  # three choices for each of three questions
    assert 'name="q0"' in page and 'value="Paris"' in page
    # The right answers are choices like any other: nothing marks them.
    form = page.split('id="quiz-form-1"')[1].split("</form>")[0]
    assert "checked" not in form and "correct" not in form and '"answer"' not in page
    assert 'id="submissions"' not in page and 'id="agent-board"' not in page


def test_teacher_page_lists_earlier_submissions_newest_first(client, demo):
    quiz = demo["student"].classrooms.get().quizzes.get()
    QuizAttempt.objects.create(quiz=quiz, student=demo["student"], number=1, score=1)
    QuizAttempt.objects.create(quiz=quiz, student=demo["student2"], number=1, score=3)
    page = page_of(client, "teacher")
    assert 'id="presence-panel"' in page and 'id="submissions"' in page
    table = page.split('id="submissions"')[1].split("</table>")[0]
    assert table.index("Sky Student") < table.index("Sam Student")
    assert "quiz-form" not in page and 'id="agent-board"' not in page


def test_admin_page_has_a_card_per_agent_and_the_notification_form(client, demo):
    Agent.objects.create(name="tutor", status="busy")
    page = page_of(client, "admin")
    assert 'data-agent="grader"' in page and 'data-agent="tutor"' in page
    assert 'id="notify-form"' in page
    assert 'data-status-value="busy"' in page  # the tutor's card says its status


def test_pages_carry_the_realtime_config_without_secrets(client, demo, settings):
    for username in ("admin", "teacher", "student"):
        client.logout()
        page = page_of(client, username)
        assert 'id="realtime-config"' in page
        assert settings.TOOLBOX_REALTIME["SECRET"] not in page


def test_agent_counts_finished_and_failed_tasks(client, demo, realtime_outbox):
    headers = bearer_headers(demo["admin"])
    url = "/api/v1/agents/grader/status"

    def set_status(status):
        response = client.post(url, {"status": status}, content_type="application/json", **headers)
        assert response.status_code == 200
        return response.json()

    set_status("busy")
    assert set_status("idle")["tasks_completed"] == 1  # busy -> idle: a task done
    set_status("idle")
    set_status("busy")
    body = set_status("error")  # busy -> error: a task failed
    assert (body["tasks_completed"], body["tasks_failed"]) == (1, 1)
    assert body["by"] == "admin" and body["updated_at"]
    agent = Agent.objects.get(name="grader")
    assert (agent.tasks_completed, agent.tasks_failed) == (1, 1)
    realtime_outbox.assert_sent(
        f"private-agent-{agent.pk}", "agent.error", {"tasks_completed": 1, "tasks_failed": 1}
    )


def test_teachers_feed_says_when_the_quiz_was_submitted(client, demo, realtime_outbox):
    response = client.post(
        "/api/v1/quiz/1/submit",
        {"answers": ["4", "Paris", "water"]},
        content_type="application/json",
        **bearer_headers(demo["student"]),
    )
    assert response.status_code == 200
    (event,) = realtime_outbox.events(channel="private-teacher", event="quiz-submitted")
    attempt = QuizAttempt.objects.get()
    assert event["data"]["submitted_at"] == attempt.submitted_at.isoformat().replace("+00:00", "Z")


def test_admin_sends_a_test_notification(client, demo, realtime_outbox):
    response = client.post(
        NOTIFY_URL,
        {"title": "Maintenance", "message": "Back in 5 minutes", "level": "warning"},
        content_type="application/json",
        **bearer_headers(demo["admin"]),
    )
    assert response.status_code == 200
    assert response.json()["sent"] is True and response.json()["id"]
    realtime_outbox.assert_sent(
        "public-notifications",
        "notification",
        {
            "title": "Maintenance",
            "message": "Back in 5 minutes",
            "level": "warning",
            "by": "Ada Admin",
        },
        count=1,
    )


@pytest.mark.parametrize("username", ["teacher", "student", None])
def test_only_admins_send_notifications(client, demo, realtime_outbox, username):
    headers = bearer_headers(demo[username]) if username else {}
    response = client.post(
        NOTIFY_URL, {"message": "hi"}, content_type="application/json", **headers
    )
    assert response.status_code == 403
    assert len(realtime_outbox) == 0


@pytest.mark.parametrize(
    "body, detail",
    [
        ({}, "message"),
        ({"message": "  "}, "message"),
        ({"message": "x" * 281}, "280"),
        ({"message": "hi", "level": "panic"}, "level"),
        ({"message": "hi", "title": "t" * 81}, "80"),
        ({"message": ["a"]}, "message"),
    ],
)
def test_notification_is_validated_before_sending(client, demo, realtime_outbox, body, detail):
    response = client.post(
        NOTIFY_URL, body, content_type="application/json", **bearer_headers(demo["admin"])
    )
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert len(realtime_outbox) == 0


def test_a_student_who_used_the_attempt_sees_the_score_and_a_closed_form(client, demo):
    quiz = demo["student"].classrooms.get().quizzes.get()
    QuizAttempt.objects.create(quiz=quiz, student=demo["student"], number=1, score=2)
    page = page_of(client, "student")
    card = page.split('id="result-card-1"')[1].split("</article>")[0]
    assert 'data-state="done"' in card and "<span data-score>2</span>" in card
    form = page.split('id="quiz-form-1"')[1].split("</form>")[0]
    assert "disabled" in form and "used your attempts" in form
