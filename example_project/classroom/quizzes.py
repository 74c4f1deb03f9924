"""The rules of a quiz submission: who may submit, what an answer is, how it is
scored, and the attempt limit.

* Only a student enrolled in the quiz's classroom may submit it. A quiz that does not
  exist and one of another classroom are the same refusal (ids cannot be probed).
* Each student has ``settings.QUIZ_MAX_ATTEMPTS`` accepted submissions per quiz
  (default 1). The score of every attempt is returned, so more attempts let a student
  test guesses: with one, a score never tells the answer of a retry. A teacher or
  admin deletes an attempt in the admin to allow a retake.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max

from .models import Quiz, QuizAttempt

#: Characters an answer may have.
ANSWER_MAX_LENGTH = 200
DEFAULT_MAX_ATTEMPTS = 1
#: The largest id an integer primary key holds (64 bits): a larger one matches nothing
#: (Django 5 says so itself; 4.2 on SQLite raises OverflowError, a 500).
MAX_ID = 2**63 - 1


def max_attempts() -> int:
    """``settings.QUIZ_MAX_ATTEMPTS`` (checked by ``classroom.E002``), read per call."""
    return int(getattr(settings, "QUIZ_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def submittable_quiz(quiz_id: str | int, user: Any) -> Quiz | None:
    """The quiz, if ``user`` is enrolled in its classroom; else None (also for an
    id that does not exist or no table could hold)."""
    text = str(quiz_id)
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > MAX_ID:
        return None
    return Quiz.objects.filter(pk=quiz_id, classroom__students=user).first()


def clean_answers(raw: Any, total: int) -> list[str]:
    """The submitted answers as strings; ValueError with a message saying what is
    wrong. A list of at most ``total`` strings or numbers, each ≤ ANSWER_MAX_LENGTH."""
    problem = (
        f"answers must be a list of at most {total} strings of at most "
        f"{ANSWER_MAX_LENGTH} characters."
    )
    if not isinstance(raw, list) or len(raw) > total:
        raise ValueError(problem)
    answers = []
    for answer in raw:
        if isinstance(answer, bool) or not isinstance(answer, str | int | float):
            raise ValueError(problem)
        text = str(answer)
        if len(text) > ANSWER_MAX_LENGTH:
            raise ValueError(problem)
        answers.append(text)
    return answers


def score_answers(quiz: Quiz, answers: list[str]) -> int:
    """Correct answers, compared case-insensitively; missing answers count as wrong."""
    expected = [str(q.get("answer", "")).strip().lower() for q in quiz.questions]
    given = [a.strip().lower() for a in answers]
    return sum(1 for want, got in zip(expected, given, strict=False) if want == got)


def record_attempt(quiz: Quiz, student: Any, score: int) -> int | None:
    """Store the next attempt and return how many the student has now used (this one
    included), or None when none is left (attempts deleted in the admin give theirs
    back). Concurrent
    submissions compete for the same ``number`` (a unique constraint): the loser
    counts again and takes the next number if one is left, so exactly the limit is
    accepted, without a lock. Each round either stores or sees another's attempt."""
    limit = max_attempts()
    for _ in range(limit + 1):
        done = QuizAttempt.objects.filter(quiz=quiz, student=student).aggregate(
            used=Count("pk"), last=Max("number")
        )
        if done["used"] >= limit:
            return None
        try:
            with transaction.atomic():
                QuizAttempt.objects.create(
                    quiz=quiz, student=student, number=(done["last"] or 0) + 1, score=score
                )
            return int(done["used"]) + 1
        except IntegrityError:  # a concurrent submission took this number
            continue
    return None
