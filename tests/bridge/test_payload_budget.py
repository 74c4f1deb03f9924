"""The payload budget (issue 9, item 7; SECURITY_CASES 25): a payload over the
budget in UTF-8 (4,000 x "€" is 12,000 bytes) becomes the documented thin event or
a clear error, as the registration chooses; never a silent drop."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import transaction

from django_toolbox_realtime.bridge.payload import PAYLOAD_BUDGET
from django_toolbox_realtime.exceptions import RealtimeValidationError
from django_toolbox_realtime.validation import MAX_PAYLOAD_BYTES, to_json
from example_project.classroom.models import Quiz

pytestmark = pytest.mark.django_db

EUROS = ["€" * 4000]


def test_the_budget_leaves_room_for_the_outbox_envelope() -> None:
    assert PAYLOAD_BUDGET == MAX_PAYLOAD_BYTES - 100
    assert len(to_json(EUROS).encode()) > PAYLOAD_BUDGET > len(to_json(EUROS))  # bytes, not chars


def test_over_the_budget_the_default_is_the_thin_event(
    register: Any, room: Any, realtime_outbox: Any, commit: Any, caplog: Any
) -> None:
    register(Quiz)
    with caplog.at_level(logging.WARNING, logger="django_toolbox_realtime.bridge"), commit():
        quiz = Quiz.objects.create(classroom=room, title="Big", questions=EUROS)
    (event,) = realtime_outbox.events()
    assert event["event"] == "quiz.created"
    assert {k: v for k, v in event["data"].items() if k != "_rt"} == {
        "model": "classroom.quiz",
        "pk": quiz.pk,
        "id": quiz.pk,
        "action": "created",
        "thin": True,
    }
    assert "12,0" in caplog.text and "thin event" in caplog.text  # said, not dropped
    assert "€€€" not in caplog.text  # the data itself is not logged


def test_over_the_budget_with_oversize_error_the_save_fails_clearly(
    register: Any, room: Any, realtime_outbox: Any, commit: Any
) -> None:
    register(Quiz, oversize="error")
    with commit(), pytest.raises(RealtimeValidationError) as raised, transaction.atomic():
        Quiz.objects.create(classroom=room, title="Big", questions=EUROS)
    assert raised.value.rule == "payload_size"
    assert raised.value.limit == PAYLOAD_BUDGET and raised.value.value > 12_000
    assert "classroom.quiz" in str(raised.value) and "10,140" in str(raised.value)
    assert "oversize = 'thin'" in str(raised.value)
    assert not Quiz.objects.exists()  # the save's transaction is rolled back with it
    assert len(realtime_outbox) == 0


def test_an_update_that_grows_over_the_budget_is_caught_at_save_time(
    register: Any, quiz: Any, realtime_outbox: Any, commit: Any
) -> None:
    register(Quiz, oversize="error", fields=["id", "questions"])
    quiz.questions = EUROS
    with commit(), pytest.raises(RealtimeValidationError, match="payload"):
        quiz.save()
    assert len(realtime_outbox) == 0


def test_exactly_the_budget_is_sent_in_full_and_fits_with_its_envelope(
    register: Any, quiz: Any, realtime_outbox: Any, commit: Any
) -> None:
    register(Quiz, fields=["questions"])
    overhead = len(to_json({"questions": [""]}))
    quiz.questions = ["é" * ((PAYLOAD_BUDGET - overhead) // 2)]  # 2 bytes each
    assert len(to_json({"questions": quiz.questions}).encode()) == PAYLOAD_BUDGET
    with commit():
        quiz.save()
    (sent,) = realtime_outbox.messages
    assert len(sent.data.encode()) <= MAX_PAYLOAD_BYTES  # with "_rt", as delivered
    assert realtime_outbox.events()[0]["data"]["questions"] == quiz.questions
    quiz.questions = [quiz.questions[0] + "é"]  # one character (2 bytes) more
    with commit():
        quiz.save()
    assert realtime_outbox.events()[1]["data"]["thin"] is True
