"""Webhooks racing each other (several server processes, Pusher's parallel sends).

Run on SQLite and on PostgreSQL (``DATABASE_URL=postgres://...``), where the
row locks and the unique digest do the work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from django_toolbox_realtime import state
from django_toolbox_realtime.models import PresenceMember, WebhookDelivery
from tests.webhooks.conftest import WEBHOOK_URL, make_body, now_ms, run_together, signed_headers

CH = "presence-race"


def poster(body: bytes) -> Callable[[], int]:
    def post() -> int:
        response = Client().post(
            WEBHOOK_URL, data=body, content_type="application/json", **signed_headers(body)
        )
        return int(response.status_code)

    return post


@pytest.mark.django_db(transaction=True)
def test_same_body_delivered_concurrently_is_applied_once(signal_log: Any) -> None:
    body = make_body(
        [
            {"name": "channel_occupied", "channel": CH},
            {"name": "member_added", "channel": CH, "user_id": "1"},
        ]
    )
    statuses = run_together([poster(body) for _ in range(6)])
    assert statuses == [200] * 6
    assert WebhookDelivery.objects.filter(outcome="accepted").count() == 1
    assert WebhookDelivery.objects.filter(outcome="duplicate").count() == 5
    assert sorted(signal_log.names()) == ["channel_occupied", "member_added"]


@pytest.mark.django_db(transaction=True)
def test_parallel_joins_on_a_new_channel_lose_nobody(signal_log: Any) -> None:
    t = now_ms()
    bodies = [
        make_body(
            [
                {"name": "channel_occupied", "channel": CH},
                {"name": "member_added", "channel": CH, "user_id": str(i)},
            ],
            t + i,
        )
        for i in range(8)
    ]
    statuses = run_together([poster(b) for b in bodies])
    assert statuses == [200] * 8
    assert state.online_users(CH) == sorted(str(i) for i in range(8))
    assert len(signal_log.of("channel_occupied")) == 1
    assert len(signal_log.of("member_added")) == 8


@pytest.mark.django_db(transaction=True)
def test_parallel_join_and_leave_end_in_time_order(signal_log: Any) -> None:
    t = now_ms()
    join = make_body([{"name": "member_added", "channel": CH, "user_id": "u"}], t)
    leave = make_body([{"name": "member_removed", "channel": CH, "user_id": "u"}], t + 50)
    for _ in range(5):
        assert run_together([poster(leave), poster(join)]) == [200, 200]
        assert state.online_users(CH) == []
        PresenceMember.objects.all().delete()
        WebhookDelivery.objects.all().delete()
