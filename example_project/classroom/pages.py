"""The demo's pages: one live dashboard, made of the panels the signed-in user's role
may see (the server still decides every subscription).

- everyone: the connection badge and the toasts of ``public-notifications`` (and of
  the role's own notification channel, ``private-student`` ...);
- the people of a classroom (its students, its teachers, admins): its presence panel;
- teachers and admins: the live table of quiz submissions (``private-teacher``);
- students: their quizzes with radio buttons and a live result card (``quiz-result``);
- admins: the agent status board (``private-agent-<id>``) and the test-notification form.

The pages render the current state; ``static/dashboard/*.js`` keeps it moving.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from django_toolbox_realtime import has_role, user_role

from . import quizzes
from .models import Agent, Classroom, Quiz, QuizAttempt

#: Submissions the teachers' table shows on load (newer ones arrive live).
RECENT_SUBMISSIONS = 20
#: The brief's notification channel of each role (their ``notification`` events are
#: toasts), with the role it needs: a user gets those of their role and below.
NOTICE_CHANNELS = [
    ("private-student", "student"),
    ("private-teacher", "teacher"),
    ("private-admin", "admin"),
]


@dataclass(frozen=True)
class QuizCard:
    """A quiz as the student's page shows it: questions and choices, never answers."""

    quiz: Quiz
    questions: list[dict[str, Any]]
    last_attempt: QuizAttempt | None
    attempts_left: int


def classrooms_of(user: Any) -> QuerySet[Classroom]:
    """The classrooms whose presence panel ``user`` sees (admins: all)."""
    if has_role(user, "admin"):
        return Classroom.objects.all()
    mine = Classroom.objects.filter(students=user) | Classroom.objects.filter(teachers=user)
    return mine.distinct()


def recent_submissions(user: Any) -> list[QuizAttempt]:
    """The latest submissions to quizzes of ``user``'s classrooms, newest first."""
    attempts = QuizAttempt.objects.select_related("quiz", "student")
    if not has_role(user, "admin"):
        attempts = attempts.filter(quiz__classroom__teachers=user)
    return list(attempts.order_by("-submitted_at", "-pk")[:RECENT_SUBMISSIONS])


def quiz_cards(user: Any, max_attempts: int) -> list[QuizCard]:
    """The quizzes of the student's classrooms, with their last attempt if any."""
    cards = []
    for quiz in Quiz.objects.filter(classroom__students=user).distinct():
        attempts = list(QuizAttempt.objects.filter(quiz=quiz, student=user).order_by("number"))
        questions = [
            {
                "name": f"q{index}",
                "text": str(item.get("question", "")),
                "choices": [str(choice) for choice in item.get("choices", [])],
            }
            for index, item in enumerate(quiz.questions)
        ]
        cards.append(
            QuizCard(
                quiz=quiz,
                questions=questions,
                last_attempt=attempts[-1] if attempts else None,
                attempts_left=max(max_attempts - len(attempts), 0),
            )
        )
    return cards


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    role = user_role(user) or "none"
    is_admin = has_role(user, "admin")
    is_teacher = has_role(user, "teacher")
    context = {
        "role": role,
        "notice_channels": " ".join(name for name, need in NOTICE_CHANNELS if has_role(user, need)),
        "display_name": user.get_full_name() or user.get_username(),  # type: ignore[union-attr]
        "classrooms": list(classrooms_of(user)),
        "show_submissions": is_teacher,
        "submissions": recent_submissions(user) if is_teacher else [],
        "quizzes": quiz_cards(user, quizzes.max_attempts()) if role == "student" else [],
        "is_admin": is_admin,
        "agents": list(Agent.objects.select_related("updated_by")) if is_admin else [],
        "agent_statuses": Agent.Status.values,
    }
    return render(request, "classroom/dashboard.html", context)
