"""The options of a registration (issue 9, item 1): raw saves, only_when_changed,
condition, to_user, payloads (default, secret-like fields, DRF serializers),
without_broadcasting and BROADCAST_ENABLED."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import serializers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers as drf

from django_toolbox_realtime import broadcasts
from django_toolbox_realtime.bridge.payload import default_fields, is_secret_like
from example_project.classroom.models import Classroom, Quiz

pytestmark = pytest.mark.django_db


def data(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event["data"].items() if k != "_rt"}


def test_fixture_loading_raw_saves_are_skipped(
    register: Any, realtime_outbox: Any, room: Any, commit: Any
) -> None:
    register(Classroom)
    fixture = serializers.serialize("json", [room])
    room.delete()
    realtime_outbox.clear()
    with commit():
        for loaded in serializers.deserialize("json", fixture):
            loaded.save()  # save_base(raw=True), as loaddata does
    assert Classroom.objects.filter(name="Room 7").exists()
    assert len(realtime_outbox) == 0


class TestOnlyWhenChanged:
    @pytest.fixture
    def watched(self, register: Any) -> Any:
        return register(Quiz, only_when_changed=["title"], coalesce=False)

    def test_update_fields_decide_without_a_query(
        self, watched: Any, quiz: Any, realtime_outbox: Any, commit: Any
    ) -> None:
        quiz.questions = [{"answer": "2"}]
        with commit(), CaptureQueriesContext(connection) as queries:
            quiz.save(update_fields=["questions"])
        assert len(realtime_outbox) == 0
        assert len(queries) == 1  # the UPDATE: no read of previous values
        quiz.title = "Renamed"
        with commit():
            quiz.save(update_fields=["title"])
        assert [data(e)["title"] for e in realtime_outbox.events(event="quiz.updated")] == [
            "Renamed"
        ]

    def test_a_plain_save_compares_with_the_previous_values(
        self, watched: Any, quiz: Any, realtime_outbox: Any, commit: Any
    ) -> None:
        quiz.questions = []
        with commit(), CaptureQueriesContext(connection) as queries:
            quiz.save()
        assert len(realtime_outbox) == 0
        assert sum("SELECT" in q["sql"] for q in queries.captured_queries) == 1
        quiz.title = "Renamed"
        with commit():
            quiz.save()
        realtime_outbox.assert_sent(
            "private-classroom.quiz", "quiz.updated", {"title": "Renamed"}, count=1
        )

    def test_creates_and_deletes_always_send(
        self, watched: Any, room: Any, realtime_outbox: Any, commit: Any
    ) -> None:
        with commit():
            quiz = Quiz.objects.create(classroom=room, title="New")
        with commit():
            quiz.delete()
        assert [e["event"] for e in realtime_outbox.events()] == ["quiz.created", "quiz.deleted"]

    def test_models_without_it_read_nothing_before_a_save(
        self, register: Any, quiz: Any, commit: Any
    ) -> None:
        register(Quiz)
        with commit(), CaptureQueriesContext(connection) as queries:
            quiz.save()
        assert not any(q["sql"].startswith("SELECT") for q in queries.captured_queries)


def test_condition_sees_the_instance_and_the_action(
    register: Any, room: Any, realtime_outbox: Any, commit: Any
) -> None:
    seen: list[tuple[str, str]] = []

    def condition(self: Any, instance: Quiz, action: str) -> bool:
        seen.append((instance.title, action))
        return instance.title.startswith("public")

    register(Quiz, condition=condition, coalesce=False)
    with commit():
        hidden = Quiz.objects.create(classroom=room, title="draft")
        Quiz.objects.create(classroom=room, title="public quiz")
        hidden.delete()
    assert seen == [("draft", "created"), ("public quiz", "created"), ("draft", "deleted")]
    assert [(e["event"], data(e)["title"]) for e in realtime_outbox.events()] == [
        ("quiz.created", "public quiz")
    ]


def test_to_user_sends_to_each_user_without_sender_exclusion(
    register: Any, realtime_outbox: Any, commit: Any, make_user: Any
) -> None:
    alice, bob = make_user("alice"), make_user("bob")

    class Teachers(broadcasts.ModelBroadcast):
        channels: list[str] = []
        user_events = {"created": "room.joined"}
        user_fields = ["name"]

        def to_user(self, instance: Classroom) -> list[int]:
            return [alice.pk, bob.pk, alice.pk]

    register(Classroom, base=Teachers)
    with commit():
        Classroom.objects.create(name="Lab")
    sent = realtime_outbox.events()
    assert [(e["event"], e["channels"], data(e), e["socket_id"]) for e in sent] == [
        ("room.joined", [f"#server-to-user-{alice.pk}"], {"name": "Lab"}, None),
        ("room.joined", [f"#server-to-user-{bob.pk}"], {"name": "Lab"}, None),
    ]


def test_to_user_as_a_field_with_channels_too(
    register: Any, realtime_outbox: Any, commit: Any, make_user: Any
) -> None:
    student = make_user("sam")
    register(User, to_user="id", fields=["username"], events={"updated": "me.changed"})
    student.first_name = "Sam"
    with commit():
        student.save()
    realtime_outbox.assert_sent("private-auth.user", "me.changed", {"username": "sam"}, count=1)
    realtime_outbox.assert_sent(f"#server-to-user-{student.pk}", "me.changed", count=1)


def test_secret_like_fields_are_never_in_the_default_payload(
    register: Any, realtime_outbox: Any, commit: Any, make_user: Any
) -> None:
    register(User)
    with commit():
        make_user("sam", email="sam@example.com")
    sent = data(realtime_outbox.assert_sent("private-auth.user", "user.created", count=1)[0])
    assert "password" not in sent and sent["username"] == "sam"
    assert sent["email"] == "sam@example.com" and "id" in sent
    for name in ("password", "API_KEY", "reset_token", "client_secret", "privateKey_x"):
        assert is_secret_like(name) is (name != "privateKey_x")
    assert "password" not in default_fields(User)


def test_a_drf_serializer_gives_the_payload(
    register: Any, realtime_outbox: Any, quiz: Any, commit: Any
) -> None:
    class QuizSerializer(drf.ModelSerializer):
        room = drf.CharField(source="classroom.name")
        size = drf.SerializerMethodField()

        class Meta:
            model = Quiz
            fields = ["id", "title", "room", "size"]

        def get_size(self, obj: Quiz) -> int:
            return len(obj.questions)

    register(Quiz, serializer=QuizSerializer)
    with commit():
        quiz.save()
    assert data(realtime_outbox.assert_sent("private-classroom.quiz", "quiz.updated")[0]) == {
        "id": quiz.pk,
        "title": "Fractions",
        "room": "Room 7",
        "size": 1,
    }


def test_channels_as_a_method_and_per_channel_payloads(
    register: Any, realtime_outbox: Any, quiz: Any, commit: Any
) -> None:
    class Split(broadcasts.ModelBroadcast):
        def channels(self, instance: Quiz, action: str) -> list[str]:
            return ["public-quizzes", f"private-classroom-{instance.classroom_id}"]

        def get_payload(self, instance: Quiz, action: str, channel: str | None) -> Any:
            summary = {"id": instance.pk}
            return summary if channel == "public-quizzes" else {**summary, "title": instance.title}

    register(Quiz, base=Split)
    with commit():
        quiz.save()
    (public,) = realtime_outbox.events(channel="public-quizzes")
    (private,) = realtime_outbox.events(channel=f"private-classroom-{quiz.classroom_id}")
    assert data(public) == {"id": quiz.pk}
    assert data(private) == {"id": quiz.pk, "title": "Fractions"}
    assert len(realtime_outbox) == 2 and public["id"] != private["id"]  # two events


def test_a_placeholder_without_a_value_gives_no_channel(
    register: Any, realtime_outbox: Any, commit: Any, make_user: Any
) -> None:
    register(User, channels=["private-user-{id}", "private-login-{last_login}"], fields=["id"])
    with commit():
        user = make_user("sam")  # last_login is None: there is no such channel
    assert realtime_outbox.events()[0]["channels"] == [f"private-user-{user.pk}"]


class TestSwitches:
    def test_without_broadcasting_silences_a_block_only(
        self, register: Any, room: Any, realtime_outbox: Any, commit: Any
    ) -> None:
        register(Quiz)
        with commit():
            with broadcasts.without_broadcasting():
                Quiz.objects.create(classroom=room, title="quiet")
            Quiz.objects.create(classroom=room, title="loud")
        assert [data(e)["title"] for e in realtime_outbox.events()] == ["loud"]

    def test_the_broadcast_enabled_setting_turns_everything_off(
        self, register: Any, room: Any, realtime_outbox: Any, commit: Any, settings: Any
    ) -> None:
        register(Quiz)
        settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "BROADCAST_ENABLED": False}
        with commit():
            quiz = Quiz.objects.create(classroom=room, title="quiet")
            quiz.delete()
            assert broadcasts.broadcast_bulk([Quiz(pk=5, classroom=room)], "updated") == []
        assert len(realtime_outbox) == 0
