"""The education-platform scenario: classrooms with enrolled students and their
teachers, quizzes, and AI agents whose status is broadcast live.

Roles are Django groups named like the roles of ``ROLE_HIERARCHY`` (``student``,
``teacher``, ``admin``): the app's default role resolver reads them.
"""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings
from django.db import models


def check_condition(condition: models.Q) -> dict[str, Any]:
    """CheckConstraint's keyword for ``condition``: ``check`` until Django 5.1
    (the app supports 4.2), ``condition`` since (``check`` is gone in 6.0)."""
    return {"condition" if django.VERSION >= (5, 1) else "check": condition}


class Classroom(models.Model):
    name = models.CharField(max_length=100)
    teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="teaching_classrooms", blank=True
    )
    students = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="classrooms",
        blank=True,
        help_text="Enrolled students.",
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def presence_channel(self) -> str:
        return f"presence-classroom-{self.pk}"

    @classmethod
    def role_of(cls, classroom_id: int, user: Any) -> str | None:
        """``"student"`` (enrolled), ``"teacher"`` (one of its teachers) or None; also
        None when the classroom does not exist. One query for an enrolled student."""
        if cls.students.through.objects.filter(classroom_id=classroom_id, user_id=user.pk).exists():
            return "student"
        if cls.teachers.through.objects.filter(classroom_id=classroom_id, user_id=user.pk).exists():
            return "teacher"
        return None


class Quiz(models.Model):
    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="quizzes")
    title = models.CharField(max_length=200)
    # [{"question": "...", "answer": "..."}, ...]
    questions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "quizzes"

    def __str__(self) -> str:
        return self.title


class QuizAttempt(models.Model):
    """One accepted submission of a quiz by a student (at most
    ``settings.QUIZ_MAX_ATTEMPTS`` per quiz and student: see ``quizzes.py``). ``number``
    counts a student's attempts at a quiz from 1 and is unique per quiz and student,
    so two concurrent submissions cannot both take the last attempt."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts"
    )
    number = models.PositiveSmallIntegerField()
    score = models.PositiveIntegerField()
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["quiz", "student", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["quiz", "student", "number"], name="classroom_quizattempt_unique_number"
            ),
            models.CheckConstraint(
                **check_condition(models.Q(number__gte=1)),
                name="classroom_quizattempt_number_gte_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quiz} #{self.number} by {self.student}"


class Agent(models.Model):
    """An AI agent (e.g. the grader) whose status the dashboard shows live: each save
    is broadcast by the model bridge (``realtime.py``)."""

    class Status(models.TextChoices):
        IDLE = "idle"
        BUSY = "busy"
        ERROR = "error"
        OFFLINE = "offline"

    name = models.SlugField(max_length=50, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IDLE)
    updated_at = models.DateTimeField(auto_now=True)
    # Who set the status last (shown on the agent's private channel: realtime.py).
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # Tasks, counted from the status an agent reports: a busy agent that goes idle has
    # finished one, a busy agent that goes to error has failed one.
    tasks_completed = models.PositiveIntegerField(default=0)
    tasks_failed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def private_channel(self) -> str:
        return f"private-agent-{self.pk}"

    def change_status(self, status: str, by: Any) -> list[str]:
        """Set ``status`` (set by ``by``), counting the task that a busy agent ends;
        returns the fields to save."""
        fields = ["status", "updated_at", "updated_by"]
        if self.status == self.Status.BUSY and status == self.Status.IDLE:
            self.tasks_completed += 1
            fields.append("tasks_completed")
        elif self.status == self.Status.BUSY and status == self.Status.ERROR:
            self.tasks_failed += 1
            fields.append("tasks_failed")
        self.status, self.updated_by = status, by
        return fields
