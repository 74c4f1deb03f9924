"""API views of the example project."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from rest_framework import permissions, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_toolbox_realtime import has_role, send_to_user, trigger_batch, trigger_event, user_role

from .models import Agent, Quiz


class TokenView(ObtainAuthToken):
    """``POST /api/v1/auth/token`` with ``username`` and ``password`` (form or JSON)
    -> ``{"token": "..."}``; use it as ``Authorization: Bearer <token>``."""

    renderer_classes = [JSONRenderer]


# --- the scenario's API: quiz submissions and agent status ------------------------


class IsStudent(permissions.BasePermission):
    message = "Only students submit quizzes."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.is_authenticated and user_role(request.user) == "student")


class IsAdminRole(permissions.BasePermission):
    message = "Only admins change agent status."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.is_authenticated and has_role(request.user, "admin"))


def score_answers(quiz: Quiz, answers: Any) -> int:
    """Correct answers, compared case-insensitively; missing answers count as wrong."""
    if not isinstance(answers, list):
        return 0
    expected = [str(q.get("answer", "")).strip().lower() for q in quiz.questions]
    given = [str(a).strip().lower() for a in answers[: len(expected)]]
    return sum(1 for want, got in zip(expected, given, strict=False) if want == got)


class QuizSubmitView(APIView):
    """``POST /api/v1/quiz/<quiz_id>/submit`` ``{"answers": [...]}`` (student) ->
    ``{"score", "total"}``; tells the teachers (``private-teacher``,
    ``quiz-submitted``) and the student (``quiz-result``, via ``send_to_user``)."""

    permission_classes = [IsStudent]
    renderer_classes = [JSONRenderer]

    def post(self, request: Request, quiz_id: int) -> Response:
        quiz = get_object_or_404(Quiz, pk=quiz_id)
        answers = request.data.get("answers", []) if hasattr(request.data, "get") else []
        if hasattr(request.data, "getlist") and "answers" in request.data:
            answers = request.data.getlist("answers")
        score, total = score_answers(quiz, answers), len(quiz.questions)
        user: Any = request.user  # IsStudent: authenticated
        name = user.get_full_name() or user.get_username()
        # The submission is stored/returned whatever happens to the notification:
        # a server outage must not fail the student's request.
        trigger_event(
            "private-teacher",
            "quiz-submitted",
            {
                "quiz_id": quiz.pk,
                "quiz": quiz.title,
                "student": name,
                "score": score,
                "total": total,
            },
            fail_silently=True,
        )
        send_to_user(
            user.pk,
            "quiz-result",
            {"quiz_id": quiz.pk, "score": score, "total": total},
            fail_silently=True,
        )
        return Response({"quiz_id": quiz.pk, "score": score, "total": total})


class AgentStatusView(APIView):
    """``POST /api/v1/agents/<name>/status`` ``{"status": "busy"}`` (admin): stores the
    status and broadcasts ``agent.<status>`` on ``agent-status`` (public summary) and
    ``private-agent-<id>`` (details)."""

    permission_classes = [IsAdminRole]
    renderer_classes = [JSONRenderer]

    def post(self, request: Request, name: str) -> Response:
        agent = get_object_or_404(Agent, name=name)
        new_status = request.data.get("status") if hasattr(request.data, "get") else None
        if new_status not in Agent.Status.values:
            return Response(
                {
                    "error": "bad_request",
                    "detail": f"status must be one of {', '.join(Agent.Status.values)}.",
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        agent.status = new_status
        agent.save(update_fields=["status", "updated_at"])
        event = f"agent.{new_status}"
        result = trigger_batch(
            [
                {
                    "channel": "agent-status",
                    "event": event,
                    "data": {"agent": agent.name, "status": agent.status},
                },
                {
                    "channel": agent.private_channel,
                    "event": event,
                    "data": {
                        "agent": agent.name,
                        "id": agent.pk,
                        "status": agent.status,
                        "updated_at": agent.updated_at,
                        "by": request.user.get_username(),
                    },
                },
            ],
            fail_silently=True,
        )
        return Response(
            {
                "agent": agent.name,
                "status": agent.status,
                "events": [e["id"] for e in result["events"]],
                "delivered": result["sent"],
            }
        )
