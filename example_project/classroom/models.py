"""The education-platform scenario: classrooms with enrolled students and their
teachers, quizzes, and AI agents whose status is broadcast live.

Roles are Django groups named like the roles of ``ROLE_HIERARCHY`` (``student``,
``teacher``, ``admin``): the app's default role resolver reads them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


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


class Agent(models.Model):
    """An AI agent (e.g. the grader) whose status the dashboard shows live."""

    class Status(models.TextChoices):
        IDLE = "idle"
        BUSY = "busy"
        ERROR = "error"
        OFFLINE = "offline"

    name = models.SlugField(max_length=50, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IDLE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def private_channel(self) -> str:
        return f"private-agent-{self.pk}"
