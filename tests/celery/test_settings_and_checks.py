"""``DELIVERY = "celery"``: the system check E030 (and the runtime, with the same
words), the task names, and health's delivery check in celery mode."""

from __future__ import annotations

import sys

import pytest
from django.core.management import call_command
from django.db import transaction

from django_toolbox_realtime import checks
from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.contrib.celery import tasks
from django_toolbox_realtime.delivery import dispatch
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.exceptions import RealtimeConfigurationError
from django_toolbox_realtime.health import pusher_status
from django_toolbox_realtime.models import OutboxEvent
from tests.celery.conftest import celery_mode


def messages(settings, **overrides):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, **overrides}
    return checks.check_delivery_settings()


def test_celery_mode_passes_the_checks_when_celery_is_installed(settings):
    assert messages(settings, **celery_mode()) == []


def test_without_celery_the_check_names_the_setting_and_the_extra(settings, monkeypatch):
    monkeypatch.setitem(sys.modules, "celery", None)  # as if not installed
    [message] = messages(settings, DELIVERY="celery")
    assert message.id == "toolbox_realtime.E030"
    assert "TOOLBOX_REALTIME['DELIVERY']" in message.msg
    assert "pip install django-toolbox-realtime[celery]" in message.msg
    with pytest.raises(RealtimeConfigurationError, match=r"django-toolbox-realtime\[celery\]"):
        publish([OutgoingEvent("", "e", ("public-a",), "{}")])


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"CELERY_QUEUE": ""}, "CELERY_QUEUE"),
        ({"CELERY_QUEUE": 5}, "CELERY_QUEUE"),
        ({"CELERY_APP": "tests.celery.no_such_module.app"}, "CELERY_APP"),
        ({"CELERY_APP": "django_toolbox_realtime.conf.SETTINGS_NAME"}, "CELERY_APP"),
    ],
)
def test_a_bad_celery_setting_is_e030_naming_it(settings, overrides, named):
    [message] = messages(settings, **celery_mode(**overrides))
    assert message.id == "toolbox_realtime.E030"
    assert f"TOOLBOX_REALTIME[{named!r}]" in message.msg


def test_an_unknown_mode_lists_the_three(settings, db):
    [message] = messages(settings, DELIVERY="pigeon")
    assert message.id == "toolbox_realtime.E030"
    assert all(f"'{mode}'" in message.msg for mode in ("outbox", "immediate", "celery"))
    with pytest.raises(Exception, match="DELIVERY"):
        call_command("realtime_deliver", "--once")


def test_the_task_names_are_stable():
    assert tasks.deliver.name == "django_toolbox_realtime.deliver"
    assert tasks.sweep.name == "django_toolbox_realtime.sweep"
    assert (tasks.deliver.name, tasks.sweep.name) == (tasks.DELIVER, tasks.SWEEP)


def test_choosing_celery_installs_the_after_commit_dispatcher(settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, **celery_mode()}
    assert dispatch.installed() is not None


def test_health_checks_the_outbox_in_celery_mode(settings, db):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        **celery_mode(FIRST_ATTEMPT="off", HEALTH_DELIVERY_PENDING=(1, 5)),
    }
    publish([OutgoingEvent("", "e", ("public-health",), "{}")])  # nothing enqueued: "off"
    assert OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING).count() == 1
    check = pusher_status()["checks"]["delivery"]
    assert check["status"] == "warning"
    assert check["pending"] == 1


def test_with_task_always_eager_the_task_runs_at_commit(
    settings, transactional_db, realtime_outbox
):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        **celery_mode(CELERY_APP="tests.celery.celery_app.eager"),
    }
    with transaction.atomic():
        [accepted] = publish([OutgoingEvent("", "eager", ("public-eager",), '{"n": 1}')])
        assert realtime_outbox.events() == []  # not before the commit
    [sent] = realtime_outbox.events()
    assert (sent["event"], sent["data"]["_rt"]) == ("eager", {"id": accepted.id, "seq": 1})
    row = OutboxEvent.objects.get(event_id=accepted.id)
    assert row.state == OutboxEvent.State.DELIVERED
