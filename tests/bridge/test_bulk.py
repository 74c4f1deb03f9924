"""``broadcast_bulk``: QuerySet.update() and bulk_create() send no model signals,
so they are broadcast on request, as saves would be (condition, coalescing,
after commit)."""

from __future__ import annotations

from typing import Any

import pytest

from django_toolbox_realtime import broadcasts
from django_toolbox_realtime.exceptions import RealtimeConfigurationError
from example_project.classroom.models import Quiz

pytestmark = pytest.mark.django_db


def sent(outbox: Any) -> list[tuple[str, str]]:
    return [(e["event"], e["data"]["title"]) for e in outbox.events()]


def test_a_queryset_update_is_broadcast_on_request(
    register: Any, room: Any, realtime_outbox: Any, commit: Any
) -> None:
    register(Quiz, fields=["id", "title"])
    with commit():
        Quiz.objects.bulk_create([Quiz(classroom=room, title=t) for t in ("a", "b")])
    assert len(realtime_outbox) == 0  # no signals: nothing was seen
    with commit():
        Quiz.objects.filter(classroom=room).update(title="renamed")
        events = broadcasts.broadcast_bulk(Quiz.objects.filter(classroom=room), "updated")
        assert len(realtime_outbox) == 0  # after commit only
    assert len(events) == 2
    assert sent(realtime_outbox) == [("quiz.updated", "renamed"), ("quiz.updated", "renamed")]


def test_a_list_from_bulk_create_and_coalescing_with_later_saves(
    register: Any, room: Any, realtime_outbox: Any, commit: Any, settings: Any
) -> None:
    register(Quiz, fields=["id", "title"])
    with commit():
        first, second = broadcasts.broadcast_bulk(
            Quiz.objects.bulk_create([Quiz(classroom=room, title=t) for t in ("x", "y")]),
            "created",
        )
        quiz = Quiz.objects.get(title="x")
        quiz.title = "x final"
        quiz.save()  # the same object in the same transaction: one created event
    assert sorted(sent(realtime_outbox)) == [("quiz.created", "x final"), ("quiz.created", "y")]


def test_condition_applies_and_bad_calls_are_refused(
    register: Any, room: Any, realtime_outbox: Any, commit: Any
) -> None:
    register(Quiz, condition=lambda self, quiz, action: quiz.title != "secret")
    rows = Quiz.objects.bulk_create([Quiz(classroom=room, title=t) for t in ("open", "secret")])
    with commit():
        broadcasts.broadcast_bulk(rows, "created")
    assert [e["data"]["title"] for e in realtime_outbox.events()] == ["open"]
    with pytest.raises(ValueError, match="action must be one of"):
        broadcasts.broadcast_bulk(rows, "saved")
    with pytest.raises(RealtimeConfigurationError, match="classroom.Classroom is not registered"):
        broadcasts.broadcast_bulk([room], "updated")
