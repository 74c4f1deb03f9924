"""The background sender keeps its database connection between commits when the
alias keeps connections (``CONN_MAX_AGE`` not 0), so a commit after a quiet spell
pays no new connection before its send, and closes it after ``LINGER_SECONDS``
idle (or at once with ``CONN_MAX_AGE = 0``). Counted in PostgreSQL's
``pg_stat_activity``: the sender runs in the committing thread on an in-memory
SQLite test database, so there is no thread connection to count there."""

from __future__ import annotations

import time

import pytest
from django.db import connection, transaction

from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.delivery import sender
from django_toolbox_realtime.delivery.publish import publish
from tests.conftest import realtime_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="counts server connections in pg_stat_activity (CI runs it on PostgreSQL)",
    ),
]


def _backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def _wait_backends(expected: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    found = _backends()
    while found != expected and time.monotonic() < deadline:
        time.sleep(0.05)  # polling a condition, bounded by the deadline
        found = _backends()
    return found


def _publish_and_receive(client, n: int) -> None:
    with transaction.atomic():
        publish([OutgoingEvent("", "tick", ("public-linger",), f'{{"n":{n}}}')])
    client.wait_for_count("tick", n, channel="public-linger")
    assert sender.wait_idle(10)


@pytest.mark.parametrize("max_age", [60, None])
def test_an_idle_sender_keeps_its_connection_then_closes_it(
    ws_client, settings, soketi, monkeypatch, max_age
):
    settings.TOOLBOX_REALTIME = realtime_for(soketi)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", max_age)
    monkeypatch.setattr(sender, "LINGER_SECONDS", 1.0)
    client = ws_client()
    client.subscribe("public-linger")
    base = _backends()
    _publish_and_receive(client, 1)
    assert _backends() == base + 1  # the thread's connection stays open while idle
    _publish_and_receive(client, 2)
    assert _backends() == base + 1  # and is reused: not a second one
    assert _wait_backends(base) == base  # closed after LINGER_SECONDS idle


def test_without_persistent_connections_the_sender_closes_at_once(
    ws_client, settings, soketi, monkeypatch
):
    settings.TOOLBOX_REALTIME = realtime_for(soketi)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    monkeypatch.setattr(sender, "LINGER_SECONDS", 60.0)
    client = ws_client()
    client.subscribe("public-linger")
    base = _backends()
    _publish_and_receive(client, 1)
    assert _wait_backends(base, timeout=5) == base  # not kept for the 60 s linger
