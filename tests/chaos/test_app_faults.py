"""Issue 11, faults inside the app's own dependencies: a webhook signal receiver
that raises, and the cache (Redis) unavailable while channels are authorized.

* Receivers of every webhook signal raise, end to end (real soketi, real webhooks
  to a live Django server, a real presence member joining and leaving): the
  presence state is kept and every webhook is answered 200. (The unit version,
  one receiver raising in a signed POST, is tests/webhooks/test_state.py.)
* The cache is a ``RedisCache`` on a closed port, or on a listener that never
  answers (with the client's socket timeouts set): the auth endpoint answers as
  without a cache, a signature for the allowed user and the same 403 for the
  denied one, never a 5xx. The degradation: policies and groups are read from the
  database on every decision (a WARNING names the cache); with the server hung,
  each decision also waits the Redis client's socket timeout. Without
  ``socket_timeout`` in ``OPTIONS`` a hung Redis would hold every auth request:
  set it (docs/faults.md).
"""

from __future__ import annotations

import logging
import statistics
import time
from typing import Any

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from django_toolbox_realtime import signals, state
from django_toolbox_realtime.models import WebhookDelivery
from tests.conftest import realtime_for
from tests.delivery.test_outbox_outage import HungServer
from tests.helpers import USER_AUTH_URL, bearer_headers, channel_auth, form_post
from tests.pusher_ws import PusherWSClient
from tests.soketi import SoketiServer, free_port
from tests.webhooks.conftest import WEBHOOK_SIGNALS, join_presence, webhook_live_server
from tests.webhooks.test_integration import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

__all__ = ["webhook_live_server"]

CLASSROOM = "presence-classroom-101"
HISTORY_URL = "/api/v1/pusher/history"


class BrokenReceivers:
    """A receiver on every webhook signal that notes the call, then raises."""

    def __init__(self) -> None:
        self.called: list[str] = []

    def connect(self) -> None:
        for name in WEBHOOK_SIGNALS:
            getattr(signals, name).connect(self.receiver, weak=False, dispatch_uid=f"chaos-{name}")

    def disconnect(self) -> None:
        for name in WEBHOOK_SIGNALS:
            getattr(signals, name).disconnect(dispatch_uid=f"chaos-{name}")

    def receiver(self, sender: Any, signal: Any = None, **kwargs: Any) -> None:
        self.called.append(next(n for n in WEBHOOK_SIGNALS if getattr(signals, n) is signal))
        raise RuntimeError("a receiver bug (chaos test)")


def test_raising_webhook_receivers_keep_the_state_and_every_webhook_gets_200(
    webhook_live_server, settings
):
    url = webhook_live_server + "/api/v1/pusher/webhook"
    hooks = [{"url": url, "event_types": ["member_added", "member_removed"]}]
    broken = BrokenReceivers()
    broken.connect()
    try:
        with SoketiServer(
            django_settings.TEST_APP_ID,
            django_settings.TEST_KEY,
            django_settings.TEST_SECRET,
            webhooks=hooks,
        ) as server:
            settings.TOOLBOX_REALTIME = realtime_for(server)
            with PusherWSClient(server.ws_url) as ws:
                join_presence(ws, CLASSROOM, "7", server)
                wait_until(lambda: state.online_users(CLASSROOM) == ["7"], what="member stored")
            wait_until(lambda: state.online_users(CLASSROOM) == [], what="member removed")
    finally:
        broken.disconnect()
    assert broken.called == ["member_added", "member_removed"]  # they ran, and raised
    codes = list(WebhookDelivery.objects.values_list("status_code", "outcome"))
    assert len(codes) == 2 and {code for code, _ in codes} == {200}, codes


# --- the cache unavailable during auth -------------------------------------------------


def redis_cache(port: int, **options: Any) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/6",
            "OPTIONS": options,
        }
    }


def authorize(demo: dict, caplog: Any, rounds: int = 10, cache_down: bool = True) -> list[float]:
    """Auth requests for an allowed and a denied user (Bearer tokens, read from the
    database), then a user sign-in and history reads (the same policy engine);
    asserts each answer; returns the auth requests' durations."""
    durations = []
    teacher, student = APIClient(), APIClient()
    teacher.credentials(**bearer_headers(demo["teacher"]))
    student.credentials(**bearer_headers(demo["student"]))
    key, secret = django_settings.TEST_KEY, django_settings.TEST_SECRET
    with caplog.at_level(logging.WARNING, logger="django_toolbox_realtime"):
        for n in range(rounds):
            socket_id = f"123.{n}"
            started = time.perf_counter()
            allowed = form_post(teacher, socket_id=socket_id, channel_name="private-teacher")
            denied = form_post(student, socket_id=socket_id, channel_name="private-teacher")
            durations.append((time.perf_counter() - started) / 2)
            assert allowed.status_code == 200, allowed.content
            assert allowed.json()["auth"] == channel_auth(key, secret, socket_id, "private-teacher")
            assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
        signin = form_post(teacher, USER_AUTH_URL, socket_id="123.99")
        assert signin.status_code == 200 and "user_data" in signin.json(), signin.content
        history = {"channel": "private-teacher"}  # the same rule as subscribing
        assert teacher.get(HISTORY_URL, history).status_code == 200
        assert student.get(HISTORY_URL, history).status_code == 403
    # The degradation is said (a WARNING naming the cache), and only when it happens.
    assert ("Cache 'default' unavailable" in caplog.text) is cache_down
    return durations


@pytest.fixture
def tokens(demo: dict) -> dict:
    for user in demo.values():
        bearer_headers(user)  # the tokens exist before the cache goes away
    return demo


def test_cache_refusing_connections_auth_still_answers_right(tokens, settings, caplog):
    baseline = authorize(tokens, caplog, cache_down=False)  # the test's working cache
    caplog.clear()
    settings.CACHES = redis_cache(free_port())  # nothing listens there
    durations = authorize(tokens, caplog)
    print(
        f"auth with Redis refusing: median {statistics.median(durations) * 1000:.1f} ms "
        f"(working locmem cache: {statistics.median(baseline) * 1000:.1f} ms)"
    )


def test_cache_hung_auth_answers_right_within_the_socket_timeout(tokens, settings, caplog):
    hung = HungServer()
    try:
        settings.CACHES = redis_cache(hung.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        durations = authorize(tokens, caplog, rounds=3)
        assert hung.accepted.is_set()  # the client did reach the hung Redis
    finally:
        hung.close()
    print(f"auth with Redis hung (0.5 s socket timeout): max {max(durations):.2f} s")
