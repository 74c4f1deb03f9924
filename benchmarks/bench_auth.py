"""Channel authorization throughput: ``POST /api/v1/pusher/auth`` for a presence
channel (policy + classroom authorizer + presence data + signature) with 200 active
policies, against a bare DRF view with the same authentication classes returning
constant JSON. Both through Django's test client with a Bearer token, interleaved
in the same run. Goal: ratio >= 0.8 (median of the rounds' ratios). Also: DB
queries per auth request."""

from __future__ import annotations

import time
from typing import Any

from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmarks import Result

POLICIES = 200
# A presence channel matched by one of the 200 policies' patterns (no code authorizer:
# this measures the app, not a project's own queries; see CLASSROOM for that).
CHANNEL = "presence-course7-42"
CLASSROOM = "presence-classroom-101"
FORM = "application/x-www-form-urlencoded"


def body(channel: str) -> str:
    return f"socket_id=1234.5678&channel_name={channel}"


class ConstantView(APIView):
    """The baseline: same authentication, no decision, no signature."""

    def get_authenticators(self) -> list[Any]:
        from django.utils.module_loading import import_string

        from django_toolbox_realtime.conf import realtime_settings

        return [import_string(p)() for p in realtime_settings.AUTHENTICATION_CLASSES]

    def post(self, request: Any) -> Response:
        if not request.user.is_authenticated:
            return Response({"error": "forbidden"}, status=403)
        return Response({"auth": "key:constant"})


# The baseline is routed behind the example project's URLs, as deep as the auth view.
urlpatterns = [
    path("", include("example_project.urls")),
    path("api/v1/bench/constant", ConstantView.as_view()),
]
BASELINE_URL = "/api/v1/bench/constant"
AUTH_URL = "/api/v1/pusher/auth"


def _setup() -> str:
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from django_toolbox_realtime.models import ChannelPolicy

    call_command("migrate", run_syncdb=True, verbosity=0)
    call_command("seed_demo", verbosity=0)
    existing = ChannelPolicy.objects.filter(is_active=True).count()
    extra = POLICIES - existing
    ChannelPolicy.objects.bulk_create(
        [ChannelPolicy(channel=f"private-team-{i}", min_role="student") for i in range(extra // 2)]
        + [
            ChannelPolicy(channel=f"presence-course{i}-{{id}}", min_role="student")
            for i in range(extra - extra // 2)
        ]
    )  # ChannelPolicy's bulk_create bumps the authorization version itself
    assert ChannelPolicy.objects.filter(is_active=True).count() == POLICIES
    student = User.objects.get(username="student")
    return Token.objects.get_or_create(user=student)[0].key


def _rate(client: Client, url: str, channel: str, token: str, count: int, budget_s: float) -> float:
    """Requests per second over ``count`` requests (fewer if ``budget_s`` runs out)."""
    payload = body(channel)
    done = 0
    started = time.perf_counter()
    deadline = started + budget_s
    while done < count and time.perf_counter() < deadline:
        response = client.post(
            url, payload, content_type=FORM, HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.content[:200]!r}")
        done += 1
    return done / (time.perf_counter() - started)


def _queries(client: Client, url: str, channel: str, token: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        client.post(url, body(channel), content_type=FORM, HTTP_AUTHORIZATION=f"Bearer {token}")
    return [q["sql"] for q in captured.captured_queries]


def run(quick: bool = False) -> list[Result]:
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False):
        token = _setup()
        client = Client()
        rounds, count, budget = (3, 150, 3.0) if quick else (9, 400, 6.0)
        cases = [(BASELINE_URL, CHANNEL), (AUTH_URL, CHANNEL), (AUTH_URL, CLASSROOM)]
        for url, channel in cases:  # warm up (policy cache, groups, connections)
            _rate(client, url, channel, token, 30, 5.0)
        rates: dict[tuple[str, str], list[float]] = {case: [] for case in cases}
        for i in range(rounds):  # interleaved, the order reversed every other round
            for url, channel in cases if i % 2 == 0 else cases[::-1]:
                rates[(url, channel)].append(_rate(client, url, channel, token, count, budget))
        base = rates[(BASELINE_URL, CHANNEL)]
        app = rates[(AUTH_URL, CHANNEL)]
        classroom = rates[(AUTH_URL, CLASSROOM)]
        app_sql = _queries(client, AUTH_URL, CHANNEL, token)
        classroom_sql = _queries(client, AUTH_URL, CLASSROOM, token)
        base_sql = _queries(client, BASELINE_URL, CHANNEL, token)

    def policy_queries(sqls: list[str]) -> float:
        return float(sum("channelpolicy" in sql.lower() for sql in sqls))

    return [
        Result.of_pairs(
            f"auth {CHANNEL} ({POLICIES} policies) vs bare DRF",
            "req/s",
            app,
            base,
            goal=">= 0.8",
            goal_min_ratio=0.8,
            op="request",
            statements=float(len(app_sql)),
            baseline_statements=float(len(base_sql)),
        ),
        Result.of_pairs(
            f"auth {CLASSROOM} (+ classroom authorizer query)",
            "req/s",
            classroom,
            base,
            op="request",
            statements=float(len(classroom_sql)),
            baseline_statements=float(len(base_sql)),
        ),
        Result(
            "auth: DB queries/request (token only; bare view: token)",
            float(len(app_sql)),
            "queries",
            baseline=float(len(base_sql)),
        ),
        Result(
            "auth: DB queries/request with classroom authorizer",
            float(len(classroom_sql)),
            "queries",
            baseline=float(len(base_sql)),
        ),
        Result(
            "auth: policy queries/request (warm cache)",
            policy_queries(app_sql) + policy_queries(classroom_sql),
            "queries",
        ),
    ]
