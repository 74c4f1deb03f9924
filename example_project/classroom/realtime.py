"""Channel authorizers and model broadcasts of the scenario (imported by
django_toolbox_realtime at start-up).

The admin-managed policy for ``presence-classroom-{id}`` requires the ``student`` role;
this authorizer narrows it to the classroom's own people. A classroom that does not
exist and one the user is not in are refused alike.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from django_toolbox_realtime import authorizers as realtime
from django_toolbox_realtime import broadcasts, has_role

from .models import Agent, Classroom, QuizAttempt

# Largest id a bigint primary key can hold has 19 digits.
_MAX_ID_DIGITS = 18


@realtime.channel("presence-classroom-{id}")
def classroom_presence(user: Any, id: str) -> bool | dict[str, Any]:  # noqa: A002
    """Enrolled students, the classroom's teachers and admins; their presence
    ``user_info`` also says in which capacity they are there."""
    if not (id.isascii() and id.isdigit()) or len(id) > _MAX_ID_DIGITS or id != str(int(id)):
        return False  # one channel name per classroom: no "0101" alias of 101
    role = Classroom.role_of(int(id), user)
    if role is not None:
        return {"classroom_role": role}
    if has_role(user, "admin") and Classroom.objects.filter(pk=int(id)).exists():
        return {"classroom_role": "admin"}
    return False


# --- model broadcasting: saves become events after commit -------------------------


class AttemptResultSerializer(serializers.Serializer[QuizAttempt]):
    """What the student gets back: their own score, nothing about others."""

    quiz_id = serializers.IntegerField()
    score = serializers.IntegerField()
    total = serializers.SerializerMethodField()

    def get_total(self, attempt: QuizAttempt) -> int:
        return len(attempt.quiz.questions)


class AttemptSubmittedSerializer(AttemptResultSerializer):
    """What the teachers' feed shows of a submission."""

    quiz = serializers.CharField(source="quiz.title")
    student = serializers.SerializerMethodField()
    attempt = serializers.IntegerField(source="number")
    submitted_at = serializers.DateTimeField()

    def get_student(self, attempt: QuizAttempt) -> str:
        return str(attempt.student.get_full_name() or attempt.student.get_username())


@broadcasts.register(QuizAttempt)
class QuizAttemptBroadcast(broadcasts.ModelBroadcast):
    """A submission (an accepted attempt) tells the teachers (``quiz-submitted`` on
    ``private-teacher``) and the student who made it (``quiz-result``, on their
    server-to-user channel). Attempts deleted in the admin send nothing."""

    channels = ["private-teacher"]
    events = {"created": "quiz-submitted", "updated": None, "deleted": None}
    serializer = AttemptSubmittedSerializer
    to_user = "student"
    user_events = {"created": "quiz-result"}
    user_serializer = AttemptResultSerializer


class AgentSummarySerializer(serializers.Serializer[Agent]):
    agent = serializers.CharField(source="name")
    status = serializers.CharField()


class AgentDetailSerializer(AgentSummarySerializer):
    id = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    by = serializers.SerializerMethodField()
    tasks_completed = serializers.IntegerField()
    tasks_failed = serializers.IntegerField()

    def get_by(self, agent: Agent) -> str | None:
        return agent.updated_by.get_username() if agent.updated_by else None


@broadcasts.register(Agent)
class AgentBroadcast(broadcasts.ModelBroadcast):
    """The brief's agent events: ``agent.started`` (created), ``agent.idle`` /
    ``agent.busy`` / ``agent.error`` (its status), ``agent.stopped`` (offline or
    deleted); a summary on the public ``agent-status``, the details (who changed it,
    when) on the admins' ``private-agent-<id>``."""

    channels = ["agent-status", "private-agent-{id}"]
    events = {"created": "agent.started", "updated": "agent.{status}", "deleted": "agent.stopped"}
    serializer = AgentDetailSerializer

    def get_event_name(self, instance: Agent, action: str) -> str | None:
        if action == "updated" and instance.status == Agent.Status.OFFLINE:
            return "agent.stopped"
        return super().get_event_name(instance, action)

    def get_payload(self, instance: Agent, action: str, channel: str | None) -> Any:
        if channel == "agent-status":  # public: anyone may subscribe
            return AgentSummarySerializer(instance).data
        return super().get_payload(instance, action, channel)
