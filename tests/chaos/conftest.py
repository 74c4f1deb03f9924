"""Fixtures of the fault suite: a soketi of each test's own (killed, paused and
restarted on purpose), WebSocket clients on it, the database shared with
subprocesses, and the ``postgresql_only`` marker.

``postgresql_only``: a test that needs row locks (``FOR UPDATE SKIP LOCKED``) or a
PostgreSQL backend to terminate. On a PostgreSQL run it always runs (never a
skip); on a SQLite run it is deselected, and the summary says so and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings

from example_project.classroom.models import Classroom

# The subprocess fixtures of the outbox's process tests: the same shared database
# (PostgreSQL: the test database; SQLite: a migrated file) and process cleanup.
from tests.delivery.test_outbox_process import processes, shared_db, sqlite_file
from tests.pusher_ws import PusherWSClient
from tests.soketi import SoketiServer

__all__ = ["processes", "shared_db", "sqlite_file"]

PG_ONLY = "postgresql_only"
PG_ONLY_REASON = (
    "needs PostgreSQL (row locks with SKIP LOCKED, or a backend to terminate); the "
    "SQLite run cannot test it: CI runs it in the PostgreSQL run"
)
_deselected: list[str] = []


def _on_sqlite() -> bool:
    return str(django_settings.DATABASES["default"]["ENGINE"]).endswith("sqlite3")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{PG_ONLY}: {PG_ONLY_REASON}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _on_sqlite():
        return
    chosen, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker(PG_ONLY) else chosen).append(item)
    if dropped:
        _deselected.extend(item.nodeid for item in dropped)
        config.hook.pytest_deselected(items=dropped)
        items[:] = chosen


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _deselected:
        terminalreporter.write_line(
            f"deselected on SQLite ({PG_ONLY}: {PG_ONLY_REASON}): {', '.join(_deselected)}"
        )


@pytest.fixture
def server() -> Iterator[SoketiServer]:
    """A soketi of this test's own (the test credentials), stopped after it. Its
    clients may stay connected without signing in for longer than soketi's default
    30 s (after which it closes them with 4009): these tests run longer than that."""
    found = SoketiServer(
        django_settings.TEST_APP_ID,
        django_settings.TEST_KEY,
        django_settings.TEST_SECRET,
        extra_env={"SOKETI_USER_AUTHENTICATION_TIMEOUT": "600000"},
    )
    found.start()
    yield found
    found.stop()


@pytest.fixture
def connect(server: SoketiServer) -> Iterator[Callable[..., PusherWSClient]]:
    """``connect(*channels)``: a client connected to ``server`` and subscribed to
    ``channels``; closed after the test."""
    clients: list[PusherWSClient] = []

    def make(*channels: str) -> PusherWSClient:
        client = PusherWSClient(server.ws_url, timeout=20).connect()
        clients.append(client)
        for channel in channels:
            answer = client.subscribe(channel)
            assert answer and answer["event"] == "pusher_internal:subscription_succeeded"
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def rooms(db: Any) -> Callable[[int], list[int]]:
    """``rooms(n)``: ids of n new classrooms in the test database (a web process
    on the file SQLite database makes the same ones there)."""

    def make(count: int) -> list[int]:
        return [Classroom.objects.create(name=f"chaos {n}").pk for n in range(count)]

    return make
