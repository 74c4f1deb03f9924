"""The message budget counts every process (issue 8 item 6): events sent from
``manage.py shell``, ``realtime_trigger`` or a worker show in ``messages_today``.
Counted in the default cache when every process shares it atomically (Redis,
Memcached), else in the database; a system check warns when neither is shared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.checks import run_checks
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_toolbox_realtime import trigger_batch, trigger_event
from django_toolbox_realtime.delivery import usage
from django_toolbox_realtime.models import UsageCounter

ROOT = Path(__file__).resolve().parents[2]
REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/14",
        "KEY_PREFIX": "toolbox-tests-usage",
    }
}


def warning_ids() -> list[str]:
    return [m.id for m in run_checks() if m.id == "toolbox_realtime.W020"]


@pytest.mark.django_db
def test_the_count_survives_another_processes_cache() -> None:
    # The default test cache is per-process (local memory): what one process
    # counts there, the next process (a worker, a shell, the web server) never sees.
    trigger_event(channels=["public-a", "public-b"], event="e", data={})
    trigger_batch([{"channel": "public-a", "event": "e"}])
    cache.clear()  # the view of a process that sent nothing
    assert usage.messages_today() == 3
    assert usage.todays_budget().remaining == 200_000 - 3


@pytest.mark.django_db
def test_a_failed_count_never_fails_the_send(monkeypatch: Any, caplog: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("counter down")

    monkeypatch.setattr(UsageCounter.objects, "add", broken)
    assert trigger_event(channel="public-a", event="e", data={})["sent"] is True
    usage.flush()  # buffered counts are written at most once a second: now
    assert "Could not count" in caplog.text


@pytest.mark.django_db
def test_counting_costs_a_database_write_at_most_once_a_second() -> None:
    # Before buffering, every publish wrote (and, outside a transaction, committed)
    # the count: 100 sends were 100 writes.
    usage.flush()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(100):
            trigger_event(channel="public-a", event="e", data={})
    writes = [q for q in queries.captured_queries if "usagecounter" in q["sql"].lower()]
    assert len(writes) <= 2
    assert usage.messages_today() == 100  # this process's unwritten count is included
    usage.flush()
    assert usage.messages_today() == 100


@pytest.mark.django_db(transaction=True)
def test_messages_sent_by_another_process_show_in_messages_today(settings: Any) -> None:
    db = connection.settings_dict
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("an in-memory SQLite database is not shared with another process")
    if connection.vendor == "sqlite":
        url = f"sqlite:///{db['NAME']}"
    else:
        url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": url}
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "manage.py", "realtime_trigger", "public-a", "e", "{}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    assert usage.messages_today() == 2


@pytest.mark.django_db
def test_with_a_shared_cache_the_count_is_a_cache_increment_not_a_database_write(
    settings: Any,
) -> None:
    settings.CACHES = REDIS
    cache.clear()
    try:
        with CaptureQueriesContext(connection) as queries:
            trigger_event(channels=["public-a", "public-b"], event="e", data={})
        assert len(queries) == 0
        assert usage.messages_today() == 2
        assert not UsageCounter.objects.exists()
    finally:
        cache.clear()


@pytest.mark.django_db
def test_the_database_counter_can_be_chosen_with_a_shared_cache(settings: Any) -> None:
    settings.CACHES = REDIS
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "USAGE_COUNTER": "database"}
    cache.clear()
    try:
        trigger_event(channel="public-a", event="e", data={})
        usage.flush()
        assert UsageCounter.objects.exists()
        cache.clear()
        assert usage.messages_today() == 1
    finally:
        cache.clear()


def test_a_counter_that_cannot_be_shared_warns(settings: Any) -> None:
    # The cache asked for, but the cache is per-process.
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "USAGE_COUNTER": "cache"}
    assert warning_ids() == ["toolbox_realtime.W020"]


def test_a_shared_cache_counter_does_not_warn(settings: Any) -> None:
    settings.CACHES = REDIS
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "USAGE_COUNTER": "cache"}
    assert warning_ids() == []


def test_an_unknown_counter_is_an_error(settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "USAGE_COUNTER": "redis"}
    errors = [m for m in run_checks() if m.id == "toolbox_realtime.E021"]
    assert len(errors) == 1 and "USAGE_COUNTER" in errors[0].msg


def test_auto_counts_in_the_database_and_warns_only_when_it_is_per_process() -> None:
    # The test settings: a per-process cache, so "auto" counts in the database.
    per_process = connection.vendor == "sqlite" and connection.is_in_memory_db()
    assert usage.counts_in_cache() is False
    assert warning_ids() == (["toolbox_realtime.W020"] if per_process else [])
