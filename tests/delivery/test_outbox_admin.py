"""The outbox in the admin (state, tries, next try, reason; "send again now" and
"discard"), health's delivery check, and the system checks of the delivery settings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from django_toolbox_realtime import checks
from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.exceptions import RealtimeConfigurationError
from django_toolbox_realtime.health import pusher_status
from django_toolbox_realtime.models import OutboxEvent

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/django_toolbox_realtime/outboxevent/"


def row(state: str = "pending", **fields) -> OutboxEvent:
    now = timezone.now()
    values = {
        "event_id": "e1",
        "channel": "private-teacher",
        "name": "quiz-submitted",
        "data": "{}",
        "state": state,
        "next_attempt_at": now,
        "created_at": now,
        "source": "classroom.QuizAttempt#5 created",
        **fields,
    }
    return OutboxEvent.objects.create(**values)


# --- admin ----------------------------------------------------------------------------


def test_the_list_shows_state_tries_next_try_reason_and_origin(admin_client):
    row("failed", attempts=1, last_error="POST /batch_events: the server answered 413: too big")
    row("pending", attempts=3, event_id="e2", last_error="cannot reach 127.0.0.1:6001")
    page = admin_client.get(CHANGELIST).content.decode()
    for text in (
        "refused by the server",
        "waiting to be sent",
        "the server answered 413: too big",
        "classroom.QuizAttempt#5 created",
        "Send again now",
        "Discard (never send)",
    ):
        assert text in page
    assert admin_client.get(CHANGELIST, {"state": "failed"}).content.count(b"413") == 1
    assert b"e2" in admin_client.get(CHANGELIST, {"q": "e2"}).content


def test_send_again_now_makes_them_due_and_keeps_the_tries(admin_client):
    later = timezone.now() + dt.timedelta(hours=1)
    dead = row("dead", attempts=50)
    waiting = row("pending", attempts=2, next_attempt_at=later)
    sent = row("delivered", attempts=1)
    response = admin_client.post(
        CHANGELIST,
        {"action": "retry_now", "_selected_action": [dead.pk, waiting.pk, sent.pk]},
        follow=True,
    )
    assert "2 events will be sent at the next delivery round" in response.content.decode()
    for obj in (dead, waiting, sent):
        obj.refresh_from_db()
    assert (dead.state, dead.attempts) == ("pending", 50) and dead.next_attempt_at <= timezone.now()
    assert waiting.next_attempt_at <= timezone.now() and waiting.attempts == 2
    assert sent.state == "delivered"


def test_discard_stops_unsent_events_only(admin_client):
    failed, sent = row("failed"), row("delivered")
    response = admin_client.post(
        CHANGELIST, {"action": "discard", "_selected_action": [failed.pk, sent.pk]}, follow=True
    )
    assert "1 event discarded" in response.content.decode()
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.state, sent.state) == ("discarded", "delivered")


def test_read_only_and_actions_need_the_change_permission(admin_client, make_user):
    obj = row("failed")
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    detail = admin_client.get(f"{CHANGELIST}{obj.pk}/change/").content.decode()
    assert "refused by the server" in detail and 'name="_save"' not in detail
    viewer: User = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxevent"))
    client = Client()
    client.force_login(viewer)
    page = client.get(CHANGELIST).content.decode()
    assert "refused by the server" in page and "Send again now" not in page
    client.post(CHANGELIST, {"action": "retry_now", "_selected_action": [obj.pk]})
    obj.refresh_from_db()
    assert obj.state == "failed"


# --- health -------------------------------------------------------------------------------


def delivery_check() -> dict:
    return pusher_status()["checks"]["delivery"]


def test_health_reports_the_backlog(settings):
    assert delivery_check()["status"] == "ok" and delivery_check()["pending"] == 0
    old = timezone.now() - dt.timedelta(seconds=120)
    row("pending", created_at=old)
    check = delivery_check()
    assert check["status"] == "warning" and check["pending"] == 1
    assert check["oldest_pending_seconds"] >= 120 and "realtime_deliver" in check["message"]
    row("dead")
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "HEALTH_DELIVERY_FAILED": (1, 1)}
    check = delivery_check()
    assert check["status"] == "error" and check["dead"] == 1 and "given up" in check["message"]


def test_health_skips_delivery_without_an_outbox(settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "DELIVERY": "immediate"}
    assert delivery_check()["status"] == "skipped"


# --- system checks ------------------------------------------------------------------------


def ids(settings, **overrides) -> list[str]:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, **overrides}
    return [message.id for message in checks.check_delivery_settings()]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"DELIVERY": "pigeon"}, "toolbox_realtime.E030"),
        ({"FIRST_ATTEMPT": "sometimes"}, "toolbox_realtime.E031"),
        ({"DELIVERY": "immediate", "FIRST_ATTEMPT": "off"}, "toolbox_realtime.E031"),
        ({"MAX_ATTEMPTS": 0}, "toolbox_realtime.E032"),
        ({"RETRY_BASE_SECONDS": 0}, "toolbox_realtime.E032"),
        ({"RETRY_BASE_SECONDS": 10, "RETRY_MAX_SECONDS": 5}, "toolbox_realtime.E032"),
        ({"HISTORY_MAX_PER_CHANNEL": -1}, "toolbox_realtime.E032"),
        ({"HEALTH_DELIVERY_PENDING": (10, 5)}, "toolbox_realtime.E033"),
    ],
)
def test_each_delivery_mistake_has_its_check(settings, overrides, expected):
    assert ids(settings, **overrides) == [expected]


def test_the_defaults_pass_and_an_unknown_mode_is_refused_by_name(settings):
    assert ids(settings) == []
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "DELIVERY": "pigeon"}
    [message] = checks.check_delivery_settings()
    assert "'outbox'" in message.msg and "'immediate'" in message.msg
    assert "'celery'" in message.msg  # celery mode: tests/celery/
    event = OutgoingEvent("", "e", ("public-a",), "{}")
    with pytest.raises(RealtimeConfigurationError, match="DELIVERY"):
        publish([event])
    with pytest.raises(Exception, match="DELIVERY"):
        call_command("realtime_deliver", "--once")
