"""realtime_deliver's rounds against real servers: a soketi with small limits (real
400 and 413 answers), a local HTTP server answering 503 (soketi cannot be made to),
a closed port (refused): what is retried, with which delays, what is given up."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.delivery import options, outbox, rounds
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.models import OutboxEvent
from django_toolbox_realtime.validation import encode_payload
from tests.conftest import PUSHER_BACKEND, realtime_for
from tests.helpers import QuietHandler, http_server
from tests.pusher_ws import PusherWSClient
from tests.soketi import SoketiServer

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUIET = {"FIRST_ATTEMPT": "off", "FIRST_ATTEMPT_GRACE_SECONDS": 0, "TIMEOUT": 2}


@pytest.fixture(scope="module")
def strict_soketi() -> Iterator[SoketiServer]:
    """A soketi refusing events over 1 KB (413) and names over 12 characters (400)."""
    server = SoketiServer(
        django_settings.TEST_APP_ID,
        django_settings.TEST_KEY,
        django_settings.TEST_SECRET,
        extra_env={"SOKETI_EVENT_MAX_SIZE_IN_KB": "1", "SOKETI_EVENT_MAX_NAME_LENGTH": "12"},
    )
    server.start()
    yield server
    server.stop()


class _Overloaded(QuietHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests += 1  # type: ignore[attr-defined]
        self.answer(503, b'{"error": "overloaded, try later"}')


@pytest.fixture
def overloaded() -> Iterator[Any]:
    with http_server(_Overloaded, requests=0) as server:
        yield server


def make(channel: str, data: Any, name: str = "changed") -> OutgoingEvent:
    return OutgoingEvent(id="", name=name, channels=(channel,), data=encode_payload(data))


def deliver(*args: str) -> str:
    out = StringIO()
    call_command("realtime_deliver", *args, stdout=out)
    return out.getvalue()


def rows(channel: str | None = None) -> list[OutboxEvent]:
    found = OutboxEvent.objects.order_by("pk")
    return list(found.filter(channel=channel) if channel else found)


def test_a_413_fails_only_that_event_and_its_channel_goes_on(settings, strict_soketi):
    settings.TOOLBOX_REALTIME = realtime_for(strict_soketi, **QUIET)
    client = PusherWSClient(strict_soketi.ws_url).connect()
    try:
        for channel in ("public-x", "public-y"):
            client.subscribe(channel)
        publish([make("public-x", {"n": 1}), make("public-x", {"n": 2, "pad": "p" * 2000})])
        publish([make("public-x", {"n": 3}), make("public-y", {"n": 4})])
        out = deliver("--once")
        got = client.wait_for_count("changed", 3)
        assert sorted(json.loads(m["data"])["n"] for m in got) == [1, 3, 4]
    finally:
        client.close()
    refused = OutboxEvent.objects.get(state="failed")
    assert json.loads(refused.data)["n"] == 2 and refused.attempts == 1
    assert "413" in refused.last_error and "1 KB" in refused.last_error
    assert "1 refused" in out
    deliver("--once")  # never tried again
    refused.refresh_from_db()
    assert refused.state == "failed" and refused.attempts == 1


def test_a_400_is_not_retried_and_keeps_the_servers_reason(settings, strict_soketi):
    settings.TOOLBOX_REALTIME = realtime_for(strict_soketi, **QUIET)
    publish([make("public-x", {"n": 1}, name="a-much-too-long-name")])
    deliver("--once")
    deliver("--once")
    [row] = rows()
    assert (row.state, row.attempts) == ("failed", 1)
    assert "400" in row.last_error and "Event name is too long" in row.last_error


def test_5xx_backs_off_with_capped_jittered_delays_then_dead_letters(settings, overloaded):
    settings.TOOLBOX_REALTIME = {
        **django_settings.TOOLBOX_REALTIME,
        **QUIET,
        "BACKEND": PUSHER_BACKEND,
        "PORT": overloaded.server_address[1],
        "MAX_ATTEMPTS": 2,
        "RETRY_BASE_SECONDS": 0.2,
        "RETRY_MAX_SECONDS": 0.3,
    }
    publish([make("public-x", {"n": 1})])
    before = timezone.now()
    assert rounds.run_round("default").retry == 1
    after = timezone.now()
    [head] = rows()
    assert head.state == "pending" and head.attempts == 1 and head.seq == 1
    # Recorded at some moment of the round, plus a wait in [0, 0.2 * 2**0].
    assert before <= head.next_attempt_at <= after + dt.timedelta(seconds=0.2)
    assert "503" in head.last_error and "overloaded" in head.last_error
    publish([make("public-x", {"n": 2})])
    assert rounds.run_round("default").claimed == 0  # waits behind the head: order kept
    head, behind = rows()
    assert behind.attempts == 0 and behind.seq is None
    wait_until(lambda: head.next_attempt_at <= timezone.now())
    before = timezone.now()
    result = rounds.run_round("default")  # both go, in one request: both fail
    after = timezone.now()
    assert (result.claimed, result.retry, result.dead) == (2, 2, 1)
    head, behind = rows()
    assert (head.state, head.attempts) == ("dead", 2)  # MAX_ATTEMPTS
    assert (behind.state, behind.attempts, behind.seq) == ("pending", 1, 2)
    assert before <= behind.next_attempt_at <= after + dt.timedelta(seconds=0.2)
    assert overloaded.requests == 2


def test_a_refused_connection_is_retried(settings, soketi):
    settings.TOOLBOX_REALTIME = realtime_for(soketi, **QUIET, PORT=9)
    publish([make("public-x", {"n": 1})])
    assert rounds.run_round("default").retry == 1
    [row] = rows()
    assert row.state == "pending" and "cannot reach" in row.last_error


def test_the_same_id_and_seq_on_every_retry(ws_client, settings, soketi):
    settings.TOOLBOX_REALTIME = realtime_for(soketi, **QUIET, PORT=9, RETRY_BASE_SECONDS=0.01)
    [accepted] = publish([make("public-retry", {"n": 1})])
    rounds.run_round("default")
    [row] = rows()
    assert row.seq == 1 and row.attempts == 1
    settings.TOOLBOX_REALTIME = realtime_for(soketi, **QUIET, RETRY_BASE_SECONDS=0.01)
    client = ws_client()
    client.subscribe("public-retry")
    wait_until(lambda: OutboxEvent.objects.get().next_attempt_at <= timezone.now())
    deliver("--once")
    message = client.wait_for(lambda m: m["event"] == "changed")
    assert json.loads(message["data"])["_rt"] == {"id": accepted.id, "seq": 1}


def test_backoff_is_uniform_between_zero_and_the_capped_exponential(settings):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "RETRY_BASE_SECONDS": 0.5,
        "RETRY_MAX_SECONDS": 60,
    }
    for attempts in range(1, 12):
        bound = min(60, 0.5 * 2 ** (attempts - 1))  # 0.5, 1, 2, ... then 60
        rng = random.Random(attempts)
        delays = [options.backoff_seconds(attempts, rng) for _ in range(2000)]
        assert all(0 <= d <= bound for d in delays), attempts
        assert max(delays) > 0.95 * bound and min(delays) < 0.05 * bound  # full jitter
        assert abs(sum(delays) / len(delays) - bound / 2) < 0.05 * bound


def test_bounds_stop_the_loop(settings, soketi):
    settings.TOOLBOX_REALTIME = realtime_for(soketi, **QUIET, WORKER_POLL_SECONDS=0.05)
    started = time.monotonic()
    out = deliver("--max-seconds", "0.3")
    assert time.monotonic() - started < 3
    assert "stopped after" in out and ("Run ONE" in out or "SKIP LOCKED" in out)
    out = deliver("--max-rounds", "2")
    assert "stopped after 2 round(s)" in out


def test_history_is_pruned_per_channel_and_by_age(settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "HISTORY_MAX_PER_CHANNEL": 3}
    for n in range(5):
        publish([make("public-h", {"n": n}), make("public-other", {"n": n})][: 1 + (n == 0)])
    assert outbox.prune("default") == 2
    assert [r.seq for r in rows("public-h")] == [3, 4, 5]
    OutboxEvent.objects.filter(seq=3).update(delivered_at=timezone.now() - dt.timedelta(days=2))
    assert outbox.prune("default") == 1
    assert [r.seq for r in rows("public-h")] == [4, 5] and len(rows("public-other")) == 1


def test_pruning_deletes_old_discarded_rows_and_keeps_refused_and_dead_ones(settings):
    old = timezone.now() - dt.timedelta(days=2)
    for state, created in (
        ("discarded", old),
        ("discarded", timezone.now()),
        ("failed", old),
        ("dead", old),
    ):
        OutboxEvent.objects.create(
            event_id=f"{state}-{created.day}",
            channel="public-p",
            name="e",
            data="{}",
            state=state,
            next_attempt_at=created,
            created_at=created,
        )
    assert outbox.prune("default") == 1
    assert sorted(OutboxEvent.objects.values_list("state", flat=True)) == [
        "dead",
        "discarded",
        "failed",
    ]
    assert OutboxEvent.objects.get(state="discarded").created_at > old


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_the_worker_leaves_young_events_to_their_first_try(settings, soketi):
    settings.TOOLBOX_REALTIME = realtime_for(
        soketi, FIRST_ATTEMPT="background", FIRST_ATTEMPT_GRACE_SECONDS=30
    )
    now = timezone.now()
    old = now - dt.timedelta(seconds=60)
    for name, created, attempts in (("young", now, 0), ("tried", now, 1), ("old", old, 0)):
        OutboxEvent.objects.create(
            event_id=name,
            channel=f"public-{name}",
            name="e",
            data="{}",
            next_attempt_at=now,
            created_at=created,
            attempts=attempts,
        )
    deliver("--once")
    states = dict(OutboxEvent.objects.values_list("event_id", "state"))
    assert states == {"young": "pending", "tried": "delivered", "old": "delivered"}
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "FIRST_ATTEMPT": "off"}
    deliver("--once")  # no first try to leave them to: no grace
    assert OutboxEvent.objects.get(event_id="young").state == "delivered"
