"""After commit only (issue 9, item 2; SECURITY_CASES 21): a rolled-back transaction
or savepoint sends nothing, a commit sends once, several saves of one object in one
transaction send one event with the final state (switchable)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from example_project.classroom.models import Classroom, Quiz


class Boom(Exception):
    pass


def titles(outbox: Any, event: str | None = None) -> list[tuple[str, Any]]:
    return [(e["event"], e["data"].get("title")) for e in outbox.events(event=event)]


@pytest.mark.django_db(transaction=True)
class TestRealTransactions:
    """Real commits and rollbacks (no test transaction around them)."""

    def test_a_rolled_back_transaction_sends_nothing(
        self, register: Any, realtime_outbox: Any
    ) -> None:
        register(Quiz)
        room = Classroom.objects.create(name="R")
        with pytest.raises(Boom), transaction.atomic():
            quiz = Quiz.objects.create(classroom=room, title="never")
            quiz.title = "never again"
            quiz.save()
            raise Boom
        assert not Quiz.objects.exists()
        assert len(realtime_outbox) == 0

    def test_a_commit_sends_once_and_only_after_it(
        self, register: Any, realtime_outbox: Any
    ) -> None:
        register(Quiz)
        room = Classroom.objects.create(name="R")
        with transaction.atomic():
            Quiz.objects.create(classroom=room, title="kept")
            assert len(realtime_outbox) == 0  # not before the commit
        assert titles(realtime_outbox) == [("quiz.created", "kept")]

    def test_a_rolled_back_savepoint_sends_nothing_of_what_it_did(
        self, register: Any, realtime_outbox: Any
    ) -> None:
        register(Quiz, coalesce=False)
        room = Classroom.objects.create(name="R")
        with transaction.atomic():
            Quiz.objects.create(classroom=room, title="outer")
            with pytest.raises(Boom), transaction.atomic():
                Quiz.objects.create(classroom=room, title="inner")
                raise Boom
        assert titles(realtime_outbox) == [("quiz.created", "outer")]

    def test_a_rolled_back_savepoint_restores_the_pending_event(
        self, register: Any, realtime_outbox: Any
    ) -> None:
        register(Quiz)
        room = Classroom.objects.create(name="R")
        with transaction.atomic():
            quiz = Quiz.objects.create(classroom=room, title="first")
            with pytest.raises(Boom), transaction.atomic():
                quiz.title = "undone"
                quiz.save()
                raise Boom
        assert titles(realtime_outbox) == [("quiz.created", "first")]

    def test_autocommit_saves_send_at_once(self, register: Any, realtime_outbox: Any) -> None:
        register(Quiz)
        room = Classroom.objects.create(name="R")
        quiz = Quiz.objects.create(classroom=room, title="a")
        quiz.title = "b"
        quiz.save()
        assert titles(realtime_outbox) == [("quiz.created", "a"), ("quiz.updated", "b")]


@pytest.mark.django_db
class TestCoalescing:
    def test_several_saves_send_one_event_with_the_final_state(
        self, register: Any, realtime_outbox: Any, room: Any, commit: Any
    ) -> None:
        register(Quiz)
        with commit():
            quiz = Quiz.objects.create(classroom=room, title="draft")
            for title in ("second", "third", "final"):
                quiz.title = title
                quiz.save()
        assert titles(realtime_outbox) == [("quiz.created", "final")]
        with commit():
            quiz.title = "edited"
            quiz.save()
            quiz.title = "edited twice"
            quiz.save()
        assert titles(realtime_outbox)[1:] == [("quiz.updated", "edited twice")]

    @pytest.mark.parametrize("how", ["setting", "registration"])
    def test_coalescing_is_switchable(
        self, register: Any, realtime_outbox: Any, room: Any, commit: Any, settings: Any, how: str
    ) -> None:
        if how == "setting":
            settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "COALESCE": False}
            register(Quiz)
        else:
            register(Quiz, coalesce=False)
        with commit():
            quiz = Quiz.objects.create(classroom=room, title="draft")
            quiz.title = "final"
            quiz.save()
        assert titles(realtime_outbox) == [("quiz.created", "draft"), ("quiz.updated", "final")]

    def test_a_registration_can_coalesce_when_the_setting_does_not(
        self, register: Any, realtime_outbox: Any, room: Any, commit: Any, settings: Any
    ) -> None:
        settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "COALESCE": False}
        register(Quiz, coalesce=True)
        with commit():
            quiz = Quiz.objects.create(classroom=room, title="draft")
            quiz.title = "final"
            quiz.save()
        assert titles(realtime_outbox) == [("quiz.created", "final")]

    def test_created_then_deleted_sends_nothing(
        self, register: Any, realtime_outbox: Any, room: Any, commit: Any
    ) -> None:
        register(Quiz)
        with commit():
            quiz = Quiz.objects.create(classroom=room, title="gone")
            quiz.title = "soon gone"
            quiz.save()
            quiz.delete()
        assert len(realtime_outbox) == 0

    def test_updated_then_deleted_sends_deleted(
        self, register: Any, realtime_outbox: Any, quiz: Any, commit: Any
    ) -> None:
        register(Quiz)
        pk = quiz.pk
        with commit():
            quiz.title = "last words"
            quiz.save()
            quiz.delete()
        assert titles(realtime_outbox) == [("quiz.deleted", "last words")]
        assert realtime_outbox.events()[0]["data"]["id"] == pk


@pytest.mark.django_db
def test_deleted_payload_is_captured_before_the_rows_are_gone(
    register: Any, realtime_outbox: Any, quiz: Any, commit: Any
) -> None:
    """A classroom's delete event counts its quizzes: the cascade has not removed them
    yet when the payload is built (pre_delete); the event goes out after commit."""

    class CountingSerializer:
        def __init__(self, instance: Classroom) -> None:
            self.data = {
                "id": instance.pk,
                "name": instance.name,
                "quizzes": list(instance.quizzes.values_list("title", flat=True)),
            }

    register(Classroom, serializer=CountingSerializer, channels=["private-classroom-{id}"])
    register(Quiz)
    room = quiz.classroom
    room_id = room.pk
    with commit():
        room.delete()
    assert not Quiz.objects.exists()
    event = realtime_outbox.assert_sent(f"private-classroom-{room_id}", "classroom.deleted")[0]
    assert {k: v for k, v in event["data"].items() if k != "_rt"} == {
        "id": room_id,
        "name": "Room 7",
        "quizzes": ["Fractions"],
    }
    # The cascade deleted the quiz through the model signals: it is broadcast too.
    assert realtime_outbox.assert_sent("private-classroom.quiz", "quiz.deleted", {"id": quiz.pk})
