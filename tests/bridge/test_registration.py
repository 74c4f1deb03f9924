"""Registration in code and in settings (issue 9, item 1): the same options give
the same events; a bad settings entry is a system check error naming the entry;
a model is registered once."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import checks
from django.db import models
from django.db.models import signals
from django.test.utils import isolate_apps

from django_toolbox_realtime import broadcasts
from django_toolbox_realtime.bridge import registry
from django_toolbox_realtime.bridge.receivers import dispatch_uid
from django_toolbox_realtime.exceptions import RealtimeConfigurationError
from example_project.classroom.models import Agent, Quiz, QuizAttempt

pytestmark = pytest.mark.django_db

BRIDGE_IDS = tuple(f"toolbox_realtime.{kind}04" for kind in "EW")
OPTIONS: dict[str, Any] = {
    "channels": ["private-classroom-{classroom_id}", "private-quiz-{pk}"],
    "events": {"created": "quiz.new", "deleted": None},
    "fields": ["id", "title"],
}


def bridge_errors() -> list[checks.CheckMessage]:
    """What ``manage.py check`` reports of the bridge (the surface check's messages)."""
    found = checks.run_checks(tags=[checks.Tags.compatibility])
    return [m for m in found if m.id and m.id.startswith(BRIDGE_IDS)]


def with_models(settings: Any, entries: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "MODELS": entries}


def sent_for(outbox: Any, room: Any, commit: Any) -> list[tuple[str, str, Any]]:
    """Create, update and delete a quiz; what was sent, with its id written PK."""
    with commit():
        quiz = Quiz.objects.create(classroom=room, title="Decimals")
        quiz.title = "Decimals II"
    with commit():
        quiz.save()
    pk = quiz.pk
    with commit():
        quiz.delete()
    found = []
    for event in outbox.events():  # the outbox sends one message per channel
        data = {k: ("PK" if k == "id" else v) for k, v in event["data"].items() if k != "_rt"}
        for channel in event["channels"]:
            found.append((event["event"], channel.replace(f"quiz-{pk}", "quiz-PK"), data))
    return sorted(found, key=repr)


def test_code_and_settings_registrations_send_the_same(
    register: Any, settings: Any, realtime_outbox: Any, room: Any, commit: Any
) -> None:
    register(Quiz, **OPTIONS)
    in_code = sent_for(realtime_outbox, room, commit)
    broadcasts.unregister(Quiz)
    realtime_outbox.clear()
    with_models(settings, {"classroom.Quiz": OPTIONS})
    assert registry.get(Quiz) is not None
    in_settings = sent_for(realtime_outbox, room, commit)
    expected = [
        (event, channel, {"id": "PK", "title": title})
        for event, title in (("quiz.new", "Decimals"), ("quiz.updated", "Decimals II"))
        for channel in (f"private-classroom-{room.pk}", "private-quiz-PK")
    ]
    assert in_code == in_settings == sorted(expected, key=repr)
    assert bridge_errors() == []


def test_defaults_private_channel_and_model_event_names(
    register: Any, realtime_outbox: Any, room: Any, commit: Any
) -> None:
    register(Quiz)
    with commit():
        quiz = Quiz.objects.create(classroom=room, title="T", questions=[1])
    event = realtime_outbox.assert_sent("private-classroom.quiz", "quiz.created", count=1)[0]
    assert {k: v for k, v in event["data"].items() if k != "_rt"} == {
        "id": quiz.pk,
        "classroom": room.pk,
        "title": "T",
        "questions": [1],
    }
    assert broadcasts.default_channel(Quiz) == "private-classroom.quiz"


def test_the_example_projects_realtime_module_is_discovered() -> None:
    labels = {broadcast.label for broadcast in broadcasts.registered()}
    assert {"classroom.quizattempt", "classroom.agent"} <= labels
    assert registry.get(Agent) is not None and registry.get(QuizAttempt) is not None


def test_registering_a_model_twice_is_an_error(register: Any) -> None:
    register(Group)

    with pytest.raises(broadcasts.AlreadyRegistered, match="already registered"):

        @broadcasts.register(Group)
        class Again(broadcasts.ModelBroadcast):
            pass


def test_a_settings_entry_for_a_model_registered_in_code_is_a_check_error(
    register: Any, settings: Any
) -> None:
    register(Group)
    with_models(settings, {"auth.Group": {}})
    errors = bridge_errors()
    assert [e.id for e in errors] == ["toolbox_realtime.E045"]
    assert "TOOLBOX_REALTIME['MODELS']['auth.Group']" in errors[0].msg


@pytest.mark.parametrize(
    "entry, check_id, words",
    [
        ({"fields": ["title", "nope"]}, "E042", "'nope', which is not a field"),
        ({"only_when_changed": ["colour"]}, "E042", "'colour'"),
        ({"to_user": "teacher"}, "E042", "to_user names 'teacher'"),
        ({"channels": ["private-quiz-{slug}"]}, "E043", "{slug} is not a field"),
        ({"channels": ["private-{classroom.name}"]}, "E043", "not a plain field name"),
        ({"events": {"created": "quiz.{colour}"}}, "E043", "{colour}"),
        ({"channels": ["private quiz {pk}"]}, "E044", "invalid names"),
        ({"channels": ["private-" + "x" * 170]}, "E044", "limit is 164"),
        ({"events": {"created": "pusher:quiz"}}, "E044", "reserved"),
        ({"channels": "private-quiz"}, "E046", "cannot be imported"),
        ({"oversize": "drop"}, "E046", "'thin' or 'error'"),
        ({"events": {"saved": "x"}}, "E046", "actions are created"),
        ({"serializer": "no.such.Serializer"}, "E046", "cannot be imported"),
        (
            {"fields": ["title"], "serializer": "rest_framework.serializers.Serializer"},
            "E046",
            "not both",
        ),
        ({"colour": "red"}, "E040", "unknown option 'colour'"),
    ],
)
def test_a_bad_settings_entry_is_a_check_error_naming_the_entry(
    settings: Any,
    quiz: Any,
    realtime_outbox: Any,
    commit: Any,
    entry: Any,
    check_id: str,
    words: str,
) -> None:
    with_models(settings, {"classroom.Quiz": entry})
    errors = bridge_errors()
    assert [e.id for e in errors] == [f"toolbox_realtime.{check_id}"], errors
    assert errors[0].msg.startswith("TOOLBOX_REALTIME['MODELS']['classroom.Quiz']")
    assert words in errors[0].msg
    # Not connected: a save works and sends nothing (never a failure at the first save).
    assert registry.get(Quiz) is None
    with commit():
        quiz.save()
    assert len(realtime_outbox) == 0


@pytest.mark.parametrize(
    "models_setting, check_id, words",
    [
        ({"classroom.Nope": {}}, "E041", "['classroom.Nope']: no such model"),
        ({"Quiz": {}}, "E041", "no such model"),
        ({"classroom.Quiz": ["title"]}, "E040", "must be a dict of options"),
        (["classroom.Quiz"], "E040", "['MODELS'] must be a dict"),
    ],
)
def test_unknown_models_and_malformed_entries(
    settings: Any, models_setting: Any, check_id: str, words: str
) -> None:
    with_models(settings, models_setting)
    errors = bridge_errors()
    assert [e.id for e in errors] == [f"toolbox_realtime.{check_id}"]
    assert words in errors[0].msg


def test_a_secret_like_field_listed_explicitly_is_refused(settings: Any) -> None:
    with_models(settings, {"auth.User": {"fields": ["username", "password"]}})
    errors = bridge_errors()
    assert [e.id for e in errors] == ["toolbox_realtime.E047"]
    assert "'password'" in errors[0].msg


def test_a_bad_code_registration_raises_at_once_with_the_same_rule() -> None:
    with pytest.raises(RealtimeConfigurationError) as raised:

        @broadcasts.register(Quiz)
        class Bad(broadcasts.ModelBroadcast):
            channels = ["private-quiz-{slug}"]

    assert "broadcasts.register(classroom.Quiz)" in str(raised.value)
    assert "{slug} is not a field" in str(raised.value)
    assert "toolbox_realtime.E043" in str(raised.value)
    assert registry.get(Quiz) is None


@isolate_apps("example_project.classroom")
def test_a_payload_that_can_outgrow_the_budget_is_reported_at_registration(register: Any) -> None:
    class Essay(models.Model):  # noqa: DJ008
        title = models.CharField(max_length=100)
        body = models.CharField(max_length=3000)  # up to 18,000 bytes as JSON

        class Meta:
            app_label = "classroom"

    class Note(models.Model):  # noqa: DJ008
        title = models.CharField(max_length=100)
        body = models.TextField()  # unbounded: known only when saved

        class Meta:
            app_label = "classroom"

    register(Essay, oversize="error")
    register(Note)
    warnings = [p for p in registry.problems() if p.id == "toolbox_realtime.W040"]
    assert len(warnings) == 1
    assert "classroom.Essay" in warnings[0].message
    assert "over the budget of 10,140" in warnings[0].message
    assert "an error at save time" in warnings[0].message


def connected(signal: Any, model: Any, name: str) -> bool:
    key = (dispatch_uid(model, name), id(model))
    return any(entry[0] == key for entry in signal.receivers)


def test_receivers_are_connected_per_model_and_go_with_the_registration(register: Any) -> None:
    register(Group)
    for name in ("post_save", "pre_delete", "post_delete"):
        assert connected(getattr(signals, name), Group, name)
    assert not connected(signals.pre_save, Group, "pre_save")  # no only_when_changed
    broadcasts.unregister(Group)
    assert not any(
        connected(getattr(signals, name), Group, name)
        for name in ("pre_save", "post_save", "pre_delete", "post_delete")
    )
    register(Group, only_when_changed=["name"])
    assert connected(signals.pre_save, Group, "pre_save")
