"""How webhook state is stored: conflicts with other writers, backends without
INSERT ... ON CONFLICT, large batches, and amortized pruning of the delivery log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_toolbox_realtime import db, state
from django_toolbox_realtime.models import ChannelState, PresenceMember, WebhookDelivery
from django_toolbox_realtime.state import batch, row_sql
from django_toolbox_realtime.state import rows as state_rows
from django_toolbox_realtime.webhooks import log as webhook_log
from tests.webhooks.conftest import (
    CH,
    WEBHOOK_URL,
    added,
    make_body,
    now_ms,
    occupied,
    removed,
    vacated,
)

pytestmark = pytest.mark.django_db


# --- another writer creates a row meanwhile -----------------------------------------------


def test_a_row_created_meanwhile_makes_the_whole_body_apply_again(
    post_webhook: Any, signal_log: Any, monkeypatch: Any
) -> None:
    real = batch.write_rows
    raced: list[str] = []

    def racing(cursor: Any, cls: Any, rows: Any, adapt: Any) -> None:
        if cls is state_rows.ChannelRow and not raced:
            # "Another process" creates the channel between our read and our write.
            raced.append(CH)
            ChannelState.objects.create(name=CH, occupied=True, last_time_ms=1)
        real(cursor, cls, rows, adapt)

    monkeypatch.setattr(batch, "write_rows", racing)
    t = now_ms()
    response = post_webhook([occupied(), added("1")], time_ms=t)
    assert response.status_code == 200 and response.json()["processed"] == 2
    assert raced == [CH]
    # The first attempt was rolled back whole (its record too); the second applied it.
    assert WebhookDelivery.objects.filter(outcome="accepted").count() == 1
    assert ChannelState.objects.get(name=CH).last_time_ms == t
    assert state.active_channels() == [CH] and state.online_users(CH) == ["1"]
    assert signal_log.names() == ["channel_occupied", "member_added"]


def test_a_conflict_on_every_attempt_is_a_503_with_nothing_stored(
    post_webhook: Any, signal_log: Any, monkeypatch: Any
) -> None:
    attempts: list[int] = []

    def always_raced(cursor: Any, cls: Any, rows: Any, adapt: Any) -> None:
        attempts.append(1)
        raise state_rows.RowConflict("created concurrently")

    monkeypatch.setattr(batch, "write_rows", always_raced)
    monkeypatch.setattr(db.time, "sleep", lambda seconds: None)
    response = post_webhook([occupied()])
    assert response.status_code == 503
    assert len(attempts) == db.ATTEMPTS  # one retry policy, bounded
    assert WebhookDelivery.objects.filter(outcome="accepted").count() == 0
    assert ChannelState.objects.count() == 0 and signal_log.calls == []


# --- backends that cannot skip conflicting rows ------------------------------------------------


@pytest.fixture
def no_insert_ignore(monkeypatch: Any) -> Iterator[None]:
    """As on a backend without INSERT ... ON CONFLICT DO NOTHING (or OR IGNORE)."""

    def clear() -> None:
        webhook_log._insert_sql.cache_clear()
        row_sql._insert_sql.cache_clear()

    clear()
    monkeypatch.setattr(connection.features, "supports_ignore_conflicts", False)
    sql = webhook_log._insert_sql(connection.alias)[0]
    assert "IGNORE" not in sql and "ON CONFLICT" not in sql
    yield
    monkeypatch.undo()
    clear()


def test_without_insert_ignore_a_repeated_body_is_still_a_duplicate(
    no_insert_ignore: None, client: Any, post_webhook: Any, signal_log: Any
) -> None:
    body = make_body([occupied(), added("1")])
    assert post_webhook(body).status_code == 200
    again = post_webhook(body)
    assert again.status_code == 200 and again.json() == {"ok": True, "duplicate": True}
    assert signal_log.names() == ["channel_occupied", "member_added"]
    outcomes = sorted(WebhookDelivery.objects.values_list("outcome", flat=True))
    assert outcomes == ["accepted", "duplicate"]


def test_without_insert_ignore_a_row_created_meanwhile_is_retried(
    no_insert_ignore: None, post_webhook: Any, signal_log: Any, monkeypatch: Any
) -> None:
    real = batch.write_rows
    raced: list[str] = []

    def racing(cursor: Any, cls: Any, rows: Any, adapt: Any) -> None:
        if cls is state_rows.MemberRow and not raced:
            raced.append(CH)
            PresenceMember.objects.create(channel=CH, user_id="1", joined_at=timezone.now())
        real(cursor, cls, rows, adapt)

    monkeypatch.setattr(batch, "write_rows", racing)
    t = now_ms()
    assert post_webhook([added("1")], time_ms=t).status_code == 200
    assert raced == [CH]
    assert PresenceMember.objects.get().last_time_ms == t
    assert state.online_users(CH) == ["1"]
    assert signal_log.names() == ["member_added"]


# --- large batches ------------------------------------------------------------------------


def test_a_large_batch_is_stored_in_chunks(post_webhook: Any, signal_log: Any) -> None:
    # More new rows than one INSERT may carry on SQLite (999 parameters), and long
    # IN lists when they are read back.
    users = [f"u{i:04d}" for i in range(1200)]
    response = post_webhook([occupied(), *(added(u) for u in users)])
    assert response.status_code == 200 and response.json()["processed"] == 1201
    assert state.online_users(CH) == users
    assert len(signal_log.of("member_added")) == 1200
    leave = [removed(u) for u in users] + [vacated()]
    assert post_webhook(leave, time_ms=now_ms() + 10).status_code == 200
    assert state.online_users(CH) == [] and state.active_channels() == []
    assert len(signal_log.of("member_removed")) == 1200


# --- amortized pruning --------------------------------------------------------------------------


@pytest.fixture
def prunes(monkeypatch: Any) -> list[Any]:
    """Every prune() call (which still runs)."""
    calls: list[Any] = []
    real = webhook_log.prune

    def counting(*args: Any, **kwargs: Any) -> int:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(webhook_log, "prune", counting)
    return calls


def test_pruning_runs_once_every_prune_every_deliveries(
    post_webhook: Any, client: Any, prunes: list[Any], settings: Any
) -> None:
    # Accepted, duplicate and rejected deliveries all count: the records whose
    # primary key is a multiple of PRUNE_EVERY prune, once each, and no other.
    # (Every rejection recorded here: see test_health_noise for the sample.)
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "WEBHOOK_REJECTIONS_LOGGED": 100}
    t = now_ms()
    body = make_body([{"name": "cache_miss", "channel": "private-cache-x"}], t)
    with CaptureQueriesContext(connection) as queries:
        post_webhook(body)
        post_webhook(body)  # duplicate
        for i in range(webhook_log.PRUNE_EVERY - 2):
            post_webhook([{"name": "cache_miss", "channel": f"private-cache-{i}"}], time_ms=t + i)
        for _ in range(webhook_log.PRUNE_EVERY):
            client.post(WEBHOOK_URL, data=b"{}", content_type="application/json")  # rejected
    pks = sorted(WebhookDelivery.objects.values_list("pk", flat=True))
    assert len(pks) == 2 * webhook_log.PRUNE_EVERY
    multiples = [pk for pk in pks if pk % webhook_log.PRUNE_EVERY == 0]
    assert sorted(call["newest"] for call in prunes) == multiples
    # 2 x PRUNE_EVERY consecutive keys hold exactly two multiples. (PostgreSQL's
    # sequence also spends a value on the duplicate's skipped insert, so there the
    # keys span one more value: one to three multiples, by where the sequence was.)
    if connection.vendor == "sqlite":
        assert len(prunes) == 2
    else:
        assert 1 <= len(prunes) <= 3
    # Each prune is told the newest primary key by the request that created it: no
    # query to find it.
    assert not any("MAX(" in q["sql"].upper() for q in queries.captured_queries)


def test_pruning_from_requests_keeps_the_log_bounded(client: Any, settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "WEBHOOK_DELIVERY_LOG_SIZE": 5}
    for _ in range(5 * webhook_log.PRUNE_EVERY):
        client.post(WEBHOOK_URL, data=b"{}", content_type="application/json")
    assert WebhookDelivery.objects.count() <= 5 + webhook_log.PRUNE_EVERY
