"""``python manage.py seed_demo``: the demo users, classroom, quiz, agent and channel
policies. Idempotent: run it as often as you like (``make demo`` runs it on start)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.core.management.color import no_style
from django.db import connection, transaction

from django_toolbox_realtime.models import ChannelPolicy
from example_project.classroom.models import Agent, Classroom, Quiz, QuizAttempt

PASSWORD = "demo1234"
CLASSROOM_ID = 101
QUIZ_ID = 1

# username -> (role group, first name, last name)
USERS = {
    "admin": ("admin", "Ada", "Admin"),
    "teacher": ("teacher", "Tom", "Teacher"),
    "student": ("student", "Sam", "Student"),
    "student2": ("student", "Sky", "Student"),
}

# The brief's channel table, corrected where the protocol cannot enforce it: the
# public channels (public-dashboard, public-notifications, agent-status) get no
# policy, because anyone may subscribe to a public channel without a signature.
POLICIES = [
    ("private-admin", "admin", "Admin notifications."),
    ("private-teacher", "teacher", "Teacher notifications (quiz submissions, ...)."),
    ("private-student", "student", "Notifications for every student."),
    (
        "presence-classroom-{id}",
        "student",
        "Who is in the classroom. The classroom authorizer narrows it to enrolled "
        "students, the classroom's teachers and admins.",
    ),
    ("private-agent-{agent_id}", "admin", "One AI agent's detailed status."),
    ("private-agent-metrics", "admin", "AI agent metrics."),
    ("private-system-health", "admin", "System health."),
    ("private-agent-tasks", "teacher", "AI agent task queue."),
    (
        "private-user-{user}",
        "student",
        "Each user's own channel: {user} matches only the subscriber's own id.",
    ),
]

# "choices": what the student's page offers as radio buttons (the answer among them).
QUESTIONS = [
    {"question": "2 + 2 = ?", "answer": "4", "choices": ["3", "4", "22"]},
    {"question": "Capital of France?", "answer": "Paris", "choices": ["Lyon", "Paris", "Nice"]},
    {
        "question": "H2O is commonly called?",
        "answer": "water",
        "choices": ["salt", "air", "water"],
    },
]


class Command(BaseCommand):
    help = "Create (or restore) the demo users, classroom 101, quiz 1, agent 'grader' and policies."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--reset-policies",
            action="store_true",
            help="Also restore the demo policies edited in the admin (default: keep edits).",
        )
        parser.add_argument(
            "--reset-attempts",
            action="store_true",
            help="Also delete every attempt at the demo quiz, so its students may submit "
            "it again (QUIZ_MAX_ATTEMPTS; default: keep them).",
        )

    @transaction.atomic
    def handle(
        self,
        *args: Any,
        reset_policies: bool = False,
        reset_attempts: bool = False,
        **options: Any,
    ) -> None:
        self.verbose = options.get("verbosity", 1) >= 1
        groups = {
            name: Group.objects.get_or_create(name=name)[0]
            for name in ("student", "teacher", "admin")
        }
        users = {}
        model = get_user_model()
        for username, (role, first, last) in USERS.items():
            user, created = model._default_manager.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.com",
                },
            )
            user.set_password(PASSWORD)
            user.is_active = True
            user.is_staff = user.is_superuser = role == "admin"
            user.save()
            user.groups.add(groups[role])
            users[username] = user
            self._say(f"user {username:<9} ({role}) {'created' if created else 'ok'}")

        classroom, _ = Classroom.objects.update_or_create(
            pk=CLASSROOM_ID, defaults={"name": f"Classroom {CLASSROOM_ID}"}
        )
        classroom.teachers.add(users["teacher"])
        classroom.students.add(users["student"], users["student2"])
        quiz, _ = Quiz.objects.update_or_create(
            pk=QUIZ_ID,
            defaults={"classroom": classroom, "title": "Warm-up quiz", "questions": QUESTIONS},
        )
        if reset_attempts:
            deleted, _ = QuizAttempt.objects.filter(quiz=quiz).delete()
            self._say(f"quiz {QUIZ_ID}: {deleted} attempts deleted")
        Agent.objects.get_or_create(name="grader")
        self._reset_sequences()
        self._say(
            f"classroom {CLASSROOM_ID} (teacher; student, student2), quiz {QUIZ_ID}, agent grader"
        )

        for channel, role, description in POLICIES:
            defaults = {"min_role": role, "description": description, "is_active": True}
            if reset_policies:
                policy, created = ChannelPolicy.objects.update_or_create(
                    channel=channel, defaults=defaults
                )
                policy.allowed_groups.clear()
            else:
                policy, created = ChannelPolicy.objects.get_or_create(
                    channel=channel, defaults=defaults
                )
            state = "created" if created else ("restored" if reset_policies else "kept")
            self._say(f"policy {channel:<26} {policy.min_role}+ {state}")
        self._say(self.style.SUCCESS(f"Demo data ready; password: {PASSWORD}"))

    def _say(self, message: str) -> None:
        if self.verbose:
            self.stdout.write(message)

    def _reset_sequences(self) -> None:
        # Rows created with explicit ids do not advance PostgreSQL's sequences.
        statements = connection.ops.sequence_reset_sql(no_style(), [Classroom, Quiz])
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
