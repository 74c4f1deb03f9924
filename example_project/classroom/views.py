"""API views of the example project."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from rest_framework import permissions, status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_toolbox_realtime import broadcasts, has_role, user_role

from . import quizzes
from .errors import JSONErrorsMixin, refusal
from .models import Agent
from .parsers import SafeJSONParser, StrictFormParser, StrictMultiPartParser
from .realtime import AgentDetailSerializer
from .throttling import TOKEN_SCOPE, TokenRateThrottle

# A quiz that does not exist and one the student may not submit: the same answer.
QUIZ_REFUSED = {"error": "forbidden", "detail": "You cannot submit this quiz."}


class TokenView(JSONErrorsMixin, ObtainAuthToken):
    """``POST /api/v1/auth/token`` with ``username`` and ``password`` (form or JSON)
    -> ``{"token": "..."}``; use it as ``Authorization: Bearer <token>``.

    Throttled per client address (scope ``auth_token``, see ``throttling.py``): 429
    with ``Retry-After`` beyond the rate. A repeated field or key, hostile JSON or a
    bad Content-Length is a 400."""

    renderer_classes = [JSONRenderer]
    parser_classes = [SafeJSONParser, StrictFormParser, StrictMultiPartParser]
    throttle_classes = [TokenRateThrottle]
    throttle_scope = TOKEN_SCOPE


# --- the scenario's API: quiz submissions and agent status ------------------------


class IsStudent(permissions.BasePermission):
    message = "Only students submit quizzes."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.is_authenticated and user_role(request.user) == "student")


class IsAdminRole(permissions.BasePermission):
    message = "Only admins change agent status."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.is_authenticated and has_role(request.user, "admin"))


class QuizSubmitView(JSONErrorsMixin, APIView):
    """``POST /api/v1/quiz/<quiz_id>/submit`` ``{"answers": [...]}`` (a student enrolled
    in the quiz's classroom) -> ``{"quiz_id", "score", "total", "attempt",
    "attempts_left"}``; the stored attempt tells the teachers (``private-teacher``,
    ``quiz-submitted``) and the student (``quiz-result``, to their user channel)
    through the model bridge (``realtime.py``).

    403 ``QUIZ_REFUSED`` for a quiz of another classroom and for one that does not
    exist alike; 400 for malformed answers (no attempt used); 409 once the student's
    ``QUIZ_MAX_ATTEMPTS`` attempts at this quiz are used (see ``quizzes.py``)."""

    permission_classes = [IsStudent]
    renderer_classes = [JSONRenderer]
    parser_classes = [SafeJSONParser, FormParser, MultiPartParser]

    def post(self, request: Request, quiz_id: str) -> Response:
        user: Any = request.user  # IsStudent: authenticated
        quiz = quizzes.submittable_quiz(quiz_id, user)
        if quiz is None:
            return Response(QUIZ_REFUSED, status=status.HTTP_403_FORBIDDEN)
        data = request.data
        if hasattr(data, "getlist"):  # a form: one "answers" field per answer
            raw = data.getlist("answers")
        else:
            raw = data.get("answers", []) if hasattr(data, "get") else None
        total = len(quiz.questions)
        try:
            answers = quizzes.clean_answers(raw, total)
        except ValueError as exc:
            return refusal(400, "bad_request", str(exc))
        score = quizzes.score_answers(quiz, answers)
        used = quizzes.record_attempt(quiz, user, score)
        if used is None:
            limit = quizzes.max_attempts()
            return refusal(
                409,
                "attempt_limit",
                f"You have used your {limit} attempt(s) at this quiz (QUIZ_MAX_ATTEMPTS).",
                attempts_allowed=limit,
            )
        # The stored attempt is the notification: the model bridge (realtime.py) sends
        # quiz-submitted and quiz-result once it is committed, and a server outage
        # never fails the student's request (the outbox retries).
        return Response(
            {
                "quiz_id": quiz.pk,
                "score": score,
                "total": total,
                "attempt": used,
                "attempts_left": max(quizzes.max_attempts() - used, 0),
            }
        )


class AgentStatusView(JSONErrorsMixin, APIView):
    """``POST /api/v1/agents/<name>/status`` ``{"status": "busy"}`` (admin): stores the
    status; the model bridge broadcasts ``agent.<status>`` (``agent.stopped`` for
    offline) on ``agent-status`` (public summary) and ``private-agent-<id>`` (details)
    after commit. ``events``: the ids of the events accepted for delivery."""

    permission_classes = [IsAdminRole]
    renderer_classes = [JSONRenderer]
    parser_classes = [SafeJSONParser, FormParser, MultiPartParser]

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
        admin: Any = request.user  # IsAdminRole: authenticated
        fields = agent.change_status(new_status, by=admin)
        # The model bridge (realtime.py) broadcasts the save after commit, without
        # an echo to the socket named by X-Socket-ID: the sender's page updates from
        # this answer, which holds what the others get on private-agent-<id>.
        agent.save(update_fields=fields)
        events = broadcasts.published_events(agent)
        return Response(
            {
                **AgentDetailSerializer(agent).data,
                "events": [event.id for event in events],
                # Accepted for delivery: sent after commit, retried by the outbox.
                "delivered": bool(events),
            }
        )
