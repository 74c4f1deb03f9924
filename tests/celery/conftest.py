"""Fixtures of the Celery tests: one database shared by the test process and its
Celery subprocesses, a real worker on the local Redis (database 5), and settings
in ``DELIVERY = "celery"`` mode pointing at the session's soketi."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import signals
from django.db import connection

from tests.celery import celery_app, processes
from tests.conftest import PUSHER_BACKEND, realtime_for
from tests.soketi import SoketiServer

#: This run's own queue: nothing left over from another run is consumed.
QUEUE = f"realtime-tests-{os.getpid()}"
os.environ["RT_CELERY_QUEUE"] = QUEUE
celery_app.app.conf.task_default_queue = QUEUE


def celery_mode(**extra: Any) -> dict[str, Any]:
    """The TOOLBOX_REALTIME keys of celery mode through the tests' Celery app."""
    return {
        "DELIVERY": "celery",
        "CELERY_APP": "tests.celery.celery_app.app",
        "CELERY_QUEUE": QUEUE,
        **extra,
    }


@pytest.fixture(scope="module")
def worker_db(django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of the database the test shares with its Celery subprocesses: the test
    database itself on PostgreSQL, a migrated file on SQLite (the test database
    there is in memory, which no other process can open)."""
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
        host = s["HOST"] or "127.0.0.1"
        return f"postgres://{s['USER']}{password}@{host}:{s['PORT'] or 5432}/{s['NAME']}"
    url = f"sqlite:///{tmp_path_factory.mktemp('celery') / 'db.sqlite3'}"
    processes.migrate(url)
    return url


@pytest.fixture
def shared_db(worker_db: str, transactional_db: Any) -> Iterator[str]:
    """This test's default connection on :func:`worker_db` (the test commits, so the
    worker sees its rows). SQLite: the in-memory test database is set aside (Django
    never closes one) and given back after the test; the file keeps its rows, so
    each test uses channels of its own."""
    if connection.vendor == "postgresql":
        yield worker_db
        return
    name, in_memory = connection.settings_dict["NAME"], connection.connection
    connection.connection = None
    connection.settings_dict["NAME"] = worker_db.removeprefix("sqlite:///")
    try:
        yield worker_db
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name
        connection.connection = in_memory


def worker_settings(server: SoketiServer, **extra: Any) -> dict[str, Any]:
    """TOOLBOX_REALTIME overrides of the worker subprocess (JSON)."""
    return celery_mode(
        BACKEND=PUSHER_BACKEND,
        HOST=server.host,
        PORT=server.port,
        SSL=False,
        TIMEOUT=3,
        FIRST_ATTEMPT_GRACE_SECONDS=0,
        **extra,
    )


@pytest.fixture(scope="module")
def celery_worker(worker_db: str, soketi_server: SoketiServer) -> Iterator[processes.Process]:
    """A real Celery worker (4 threads) on this run's queue, stopped after the module."""
    redis.Redis.from_url(celery_app.BROKER).delete(QUEUE)
    worker = processes.celery(
        [
            "worker",
            "--pool=threads",
            "--concurrency=4",
            "--queues",
            QUEUE,
            "--hostname",
            f"{QUEUE}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        worker_db,
        worker_settings(soketi_server),
    )
    try:
        worker.wait_for_line("ready.", timeout=120)
        yield worker
    finally:
        code = worker.stop()
        output = worker.output()
        if os.environ.get("RT_SHOW_WORKER"):
            print(output)
        assert code == 0, output[-3000:]
        assert "Traceback" not in output and "ERROR" not in output, output[-3000:]


@pytest.fixture
def live_worker(celery_worker: processes.Process, shared_db: str) -> Iterator[processes.Process]:
    """The module's worker, on this test's database; after the test, once this
    run's queue is empty, it has finished every task it took (so none writes while
    the database is flushed)."""
    yield celery_worker
    broker = redis.Redis.from_url(celery_app.BROKER)
    deadline = time.monotonic() + 60
    while broker.llen(QUEUE) and time.monotonic() < deadline:
        time.sleep(0.05)
    celery_worker.wait_tasks_done(timeout=max(1.0, deadline - time.monotonic()))


@pytest.fixture
def celery_settings(soketi: SoketiServer, settings: Any) -> dict[str, Any]:
    """This test process in celery mode, enqueuing through the tests' app."""
    settings.TOOLBOX_REALTIME = realtime_for(soketi, **celery_mode())
    return settings.TOOLBOX_REALTIME


@pytest.fixture
def enqueued() -> Iterator[list[dict[str, Any]]]:
    """Every task message this process hands to a broker during the test (Celery's
    own ``after_task_publish`` signal): ``{"task", "args", "kwargs", "queue"}``."""
    found: list[dict[str, Any]] = []

    def record(sender: str, headers: dict[str, Any], body: Any, routing_key: str, **_: Any):
        args, kwargs, _embed = body
        found.append({"task": sender, "args": args, "kwargs": kwargs, "queue": routing_key})

    signals.after_task_publish.connect(record, weak=False)
    yield found
    signals.after_task_publish.disconnect(record)
