"""Model broadcasting through the outbox, against named baselines in one run.

(a) N autocommit saves of the example ``Agent`` (registered with the bridge:
    two channels, so two outbox rows per save) with ``FIRST_ATTEMPT = "off"`` vs
    the same saves inside ``broadcasts.without_broadcasting()``. Goal: time ratio
    <= 1.5. Statements and commits per save are counted on a sample. Extra line:
    the same with ``FIRST_ATTEMPT = "background"`` (no goal).
(b) M outbox rows over a few channels drained by ``Worker(once=True)`` to a real
    soketi vs the raw ``pusher`` library sending the same events with
    ``trigger_batch`` (10 per request). Goal: worker ev/s / raw ev/s >= 1.0.
(c) save -> a real WebSocket client (``tests/pusher_ws.py``), ``FIRST_ATTEMPT =
    "background"``: latency from just before the commit to receipt, p50/p99, vs
    a raw ``pusher`` trigger -> the same client, interleaved.

The background sender thread cannot share an in-memory SQLite database (it then
runs in the committing thread), so the background parts run in a child process
on a temporary file SQLite database unless ``DATABASE_URL`` names another one.
Rounds alternate between the app and its baseline; the best round counts (the
machines are noisy). Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pusher
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from benchmarks import Result
from django_toolbox_realtime import broadcasts
from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.bridge import registry
from django_toolbox_realtime.delivery import sender
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.delivery.worker import Worker
from django_toolbox_realtime.models.outbox import DeliveryLane, OutboxEvent
from django_toolbox_realtime.validation import encode_payload
from tests.pusher_ws import PusherWSClient
from tests.soketi import SoketiServer

ROOT = Path(__file__).resolve().parent.parent
PUSHER_BACKEND = "django_toolbox_realtime.backends.pusher.PusherBackend"
CHANNELS = 10  # (b): the rows are spread over this many channels


def _config(port: int, first_attempt: str) -> dict[str, Any]:
    return {
        **settings.TOOLBOX_REALTIME,
        "HOST": "127.0.0.1",
        "PORT": port,
        "BACKEND": PUSHER_BACKEND,
        "DELIVERY": "outbox",
        "FIRST_ATTEMPT": first_attempt,
    }


def _raw_client(port: int) -> pusher.Pusher:
    return pusher.Pusher(
        app_id=settings.TEST_APP_ID,
        key=settings.TEST_KEY,
        secret=settings.TEST_SECRET,
        host="127.0.0.1",
        port=port,
        ssl=False,
    )


def _in_memory() -> bool:
    """Whether the default database is an in-memory SQLite one."""
    return bool(getattr(connection, "is_in_memory_db", lambda: False)())


def _db_label() -> str:
    if connection.vendor == "sqlite":
        return "sqlite mem" if _in_memory() else "sqlite file"
    return f"{connection.vendor} cma={connection.settings_dict.get('CONN_MAX_AGE')}"


def _clear_outbox() -> None:
    OutboxEvent.objects.all().delete()
    DeliveryLane.objects.all().delete()


def _agents(count: int) -> list[Any]:
    from example_project.classroom.models import Agent

    with broadcasts.without_broadcasting():
        Agent.objects.filter(name__startswith="bench-").delete()
        return [Agent.objects.create(name=f"bench-{i}") for i in range(count)]


def _plain_items(count: int) -> list[Any]:
    """Rows of a model registered with a plain field list (no serializer): the
    app's own cost per save, apart from a user's serializer."""
    from benchmarks.baseline.models import PlainItem

    if registry.get(PlainItem) is None:

        @broadcasts.register(PlainItem)
        class PlainItemBroadcast(broadcasts.ModelBroadcast):
            channels = ["bench-plain", "private-bench-plain-{id}"]  # two rows, as Agent
            fields = ["id", "name", "status", "count", "updated_at"]

    with broadcasts.without_broadcasting():
        PlainItem.objects.all().delete()
        return [PlainItem.objects.create(name=f"bench-{i}") for i in range(count)]


STATUSES = ("busy", "idle")


def _saves(agents: list[Any], n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        agent = agents[i % len(agents)]
        agent.status = STATUSES[i % 2]
        agent.save()  # autocommit: its own transaction
    return time.perf_counter() - started


#: Transaction control, not counted as statements (the commits are counted apart).
_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _control(sql: str) -> bool:
    return sql.lstrip().upper().startswith(_CONTROL)


@contextmanager
def _count_commits() -> Any:
    """Counts commits: explicit ones and writes run in autocommit (each its own)."""
    counts = {"commits": 0}
    real_commit = connection.commit

    def commit() -> None:
        counts["commits"] += 1
        real_commit()

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        autocommitted = not connection.in_atomic_block and not _control(sql)
        if autocommitted and not sql.lstrip().upper().startswith("SELECT"):
            counts["commits"] += 1
        return execute(sql, params, many, context)

    connection.commit = commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(wrapper):
            yield counts
    finally:
        del connection.commit


def _per_save(agents: list[Any], sample: int, silenced: bool) -> tuple[float, float]:
    with CaptureQueriesContext(connection) as queries, _count_commits() as counts:
        if silenced:
            with broadcasts.without_broadcasting():
                _saves(agents, sample)
        else:
            _saves(agents, sample)
    statements = [q for q in queries.captured_queries if not _control(q["sql"])]
    return len(statements) / sample, counts["commits"] / sample


def bench_saves(
    port: int, n: int, rounds: int, first_attempt: str, plain: bool = False
) -> list[Result]:
    agents = _plain_items(20) if plain else _agents(20)
    what = "plain field-list model" if plain else "example Agent, 2 DRF serializers"
    with override_settings(TOOLBOX_REALTIME=_config(port, first_attempt)):
        _saves(agents, 20)  # warm up both paths
        with broadcasts.without_broadcasting():
            _saves(agents, 20)
        best_on = best_off = float("inf")
        for _ in range(rounds):
            _clear_outbox()
            best_on = min(best_on, _saves(agents, n))
            if first_attempt == "background":
                sender.wait_idle(30)
            with broadcasts.without_broadcasting():
                best_off = min(best_off, _saves(agents, n))
        sender.wait_idle(30)
        on_q, on_c = _per_save(agents, 20, silenced=False)
        off_q, off_c = _per_save(agents, 20, silenced=True)
        sender.wait_idle(30)
    db = _db_label()
    ratio = best_on / best_off  # time with / time without
    if first_attempt != "off":  # an extra line, no goal
        return [
            Result(
                f"(a) {n} saves, first try background, {what} [{db}]",
                n / best_on,
                "saves/s",
                baseline=n / best_off,
            )
        ]
    return [
        # As throughput: time with <= 1.5 x time without <=> saves/s ratio >= 1/1.5.
        Result(
            f"(a) {n} saves, outbox, first try off, {what} [{db}]",
            n / best_on,
            "saves/s",
            baseline=n / best_off,
            goal=">= 0.67",
            goal_min_ratio=1 / 1.5,
        ),
        Result(
            f"    time/save with / without: {ratio:.2f}x (goal <= 1.5x: "
            f"{'yes' if ratio <= 1.5 else 'NO'})",
            best_on / n * 1e3,
            "ms",
            baseline=best_off / n * 1e3,
        ),
        Result(f"    statements per save [{db}]", on_q, "stmt", baseline=off_q),
        Result(f"    commits per save [{db}]", on_c, "commit", baseline=off_c),
    ]


# --- (b) the worker vs the raw library -----------------------------------------------


def _events(m: int) -> list[dict[str, Any]]:
    return [
        {
            "channel": f"public-bench-{i % CHANNELS}",
            "event": "tick",
            "data": {"i": i, "text": "payload é€", "values": list(range(10))},
        }
        for i in range(m)
    ]


def _enqueue(events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 500):
        with transaction.atomic():
            publish(
                OutgoingEvent(
                    id="", name=e["event"], channels=(e["channel"],), data=encode_payload(e["data"])
                )
                for e in events[start : start + 500]
            )


def _drain() -> tuple[float, int, int]:
    worker = Worker(once=True, report=lambda line: None)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        worker.run()
        elapsed = time.perf_counter() - started
    return elapsed, worker.totals["delivered"], len(queries.captured_queries)


def _raw(client: pusher.Pusher, events: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for i in range(0, len(events), 10):
        client.trigger_batch(
            [
                {"channel": e["channel"], "name": e["event"], "data": e["data"]}
                for e in events[i : i + 10]
            ]
        )
    return time.perf_counter() - started


def bench_worker(port: int, m: int, rounds: int) -> list[Result]:
    events = _events(m)
    client = _raw_client(port)
    best_worker = best_raw = float("inf")
    statements = 0
    with override_settings(TOOLBOX_REALTIME=_config(port, "off")):
        _raw(client, events[:50])
        _clear_outbox()
        _enqueue(events[:50])
        _drain()
        for _ in range(rounds):
            _clear_outbox()
            _enqueue(events)
            elapsed, delivered, statements = _drain()
            if delivered != m:
                raise RuntimeError(f"the worker delivered {delivered} of {m} rows")
            best_worker = min(best_worker, elapsed)
            best_raw = min(best_raw, _raw(client, events))
        _clear_outbox()
    per_batch = statements / (m / 10)
    return [
        Result(
            f"(b) worker drains {m} rows vs raw trigger_batch [{_db_label()}]",
            m / best_worker,
            "ev/s",
            baseline=m / best_raw,
            goal=">= 1.0",
            goal_min_ratio=1.0,
        ),
        Result("    worker: statements per 10-event request", per_batch, "stmt"),
    ]


# --- (c) latency to a WebSocket client --------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _arrived(ws: PusherWSClient, channel: str, text: str) -> None:
    """Wait (10 s at most) for the event on ``channel`` whose data holds ``text``."""

    def match(message: dict[str, Any]) -> bool:
        return message.get("channel") == channel and text in str(message.get("data"))

    ws.wait_for(match, timeout=10)


def bench_latency(port: int, k: int) -> list[Result]:
    ws_url = f"ws://127.0.0.1:{port}/app/{settings.TEST_KEY}?protocol=7&client=js&version=8.4.0"
    client = _raw_client(port)
    agent = _agents(1)[0]
    ours: list[float] = []
    raw: list[float] = []
    with (
        override_settings(TOOLBOX_REALTIME=_config(port, "background")),
        PusherWSClient(ws_url, timeout=10) as ws,
    ):
        ws.subscribe("agent-status")
        ws.subscribe("public-bench-raw")
        for i in range(k + 5):  # the first 5 warm up
            with transaction.atomic():
                agent.status = STATUSES[i % 2]
                agent.save()
                started = time.perf_counter()  # just before the commit
            event_id = broadcasts.published_events(agent)[0].id
            _arrived(ws, "agent-status", event_id)
            took = (time.perf_counter() - started) * 1e3
            marker = f"raw-{i}"
            started = time.perf_counter()
            client.trigger("public-bench-raw", "tick", {"marker": marker})
            _arrived(ws, "public-bench-raw", marker)
            if i >= 5:
                ours.append(took)
                raw.append((time.perf_counter() - started) * 1e3)
        sender.wait_idle(30)
    db = _db_label()
    p50, p99 = statistics.median(ours), _pct(ours, 0.99)
    return [
        Result(
            f"(c) save->WS p50 {'ok' if p50 <= 5 else 'NO'} vs raw trigger [{db}]",
            p50,
            "ms",
            baseline=statistics.median(raw),
            goal="<= 5 ms",
        ),
        Result(
            f"(c) save->WS p99 {'ok' if p99 <= 20 else 'NO'} vs raw trigger [{db}]",
            p99,
            "ms",
            baseline=_pct(raw, 0.99),
            goal="<=20 ms",
        ),
    ]


# --- the run -------------------------------------------------------------------------------


def _background(port: int, quick: bool) -> list[Result]:
    n, rounds, k = (300, 2, 50) if quick else (2_000, 3, 200)
    return bench_saves(port, n, rounds, "background") + bench_latency(port, k)


def _background_in_child(port: int, quick: bool) -> list[Result]:
    """The background parts on a temporary file SQLite database, in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        }
        code = "import django; django.setup(); import benchmarks.bench_broadcast as b; b._child()"
        args = [sys.executable, "-c", code, str(port)]
        done = subprocess.run(
            args + (["--quick"] if quick else []),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if done.returncode != 0:
        err = done.stderr
        shown = err if len(err) <= 3000 else f"{err[:1500]}\n[...]\n{err[-1500:]}"
        raise RuntimeError(f"the background benchmark failed:\n{shown}")
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    return [Result(**row) for row in rows]


def run(quick: bool = False) -> list[Result]:
    call_command("migrate", run_syncdb=True, verbosity=0)
    n, m, rounds = (300, 1_000, 2) if quick else (2_000, 10_000, 3)
    with SoketiServer(settings.TEST_APP_ID, settings.TEST_KEY, settings.TEST_SECRET) as server:
        rows = bench_saves(server.port, n, rounds, "off")
        rows += bench_saves(server.port, n, rounds, "off", plain=True)
        rows += bench_worker(server.port, m, 1 if quick else 2)
        if _in_memory():
            rows += _background_in_child(server.port, quick)
        else:
            rows += _background(server.port, quick)
    return rows


def _child() -> None:
    """In the child process (Django set up by the caller)."""
    call_command("migrate", run_syncdb=True, verbosity=0)
    port, quick = int(sys.argv[1]), "--quick" in sys.argv[2:]
    rows = _background(port, quick)
    print(json.dumps([{k: v for k, v in r.__dict__.items()} for r in rows]))
