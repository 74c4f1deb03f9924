"""Forged webhooks are noise, not news (issue 8 item 4, SECURITY_CASES 34): they
are answered 401 and counted; they store a bounded sample; and they degrade
health only with what an operator must act on: rejections, no webhook accepted
for a while, and a stored state that differs from the server's."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_toolbox_realtime.models import UsageCounter, WebhookDelivery
from django_toolbox_realtime.webhooks import log as webhook_log
from tests.webhooks.conftest import STATUS_URL, occupied
from tests.webhooks.health_auth import full_status, monitor_token  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("monitor_token")]


def inserts_into(model: Any, queries: CaptureQueriesContext) -> int:
    """INSERT statements into ``model``'s table among ``queries``."""
    table = model._meta.db_table
    return sum(
        q["sql"].lstrip().upper().startswith("INSERT") and table in q["sql"]
        for q in queries.captured_queries
    )


def forge(post_webhook: Any, count: int) -> None:
    for i in range(count):
        response = post_webhook([occupied(f"private-forged-{i}")], secret="forged-secret")
        assert response.status_code == 401


def test_34_a_thousand_forged_webhooks_are_counted_and_store_a_bounded_sample(
    client: Any, post_webhook: Any
) -> None:
    first = webhook_log.period_of(timezone.now())
    with CaptureQueriesContext(connection) as queries:
        forge(post_webhook, 1000)
    # WEBHOOK_REJECTIONS_LOGGED (10) per 5-minute period: the burst may span two.
    spanned = 1 + (webhook_log.period_of(timezone.now()) != first)
    written = inserts_into(WebhookDelivery, queries)
    assert written <= 10 * spanned, f"{written} delivery records written by 1000 forged webhooks"
    assert WebhookDelivery.objects.count() <= 10 * spanned
    assert inserts_into(UsageCounter, queries) <= spanned  # one count row per period
    webhooks = full_status(client)["checks"]["webhooks"]
    assert webhooks["rejected_last_hour"] == 1000
    # The sample keeps the reason, for the admin.
    sample = WebhookDelivery.objects.filter(outcome="rejected").first()
    assert sample is not None and "signature" in sample.detail


def test_34_forged_webhooks_alone_do_not_degrade_health(client: Any, post_webhook: Any) -> None:
    forge(post_webhook, 5)
    data = full_status(client)
    assert data["status"] == "healthy"
    assert data["checks"]["webhooks"]["status"] == "ok"
    assert data["checks"]["webhooks"]["rejected_last_hour"] == 5


def test_34_forged_webhooks_do_not_degrade_while_real_ones_are_accepted(
    client: Any, post_webhook: Any
) -> None:
    assert post_webhook([occupied("public-real")]).status_code == 200
    forge(post_webhook, 5)
    assert post_webhook([occupied("public-real-2")]).status_code == 200
    forge(post_webhook, 5)
    assert full_status(client)["status"] == "healthy"


@pytest.mark.integration
def test_34_with_the_server_forged_webhooks_alone_do_not_degrade(
    client: Any, soketi: Any, post_webhook: Any
) -> None:
    forge(post_webhook, 20)
    data = full_status(client)
    assert data["checks"]["webhooks"]["state_matches_server"] is True
    assert (data["status"], data["checks"]["webhooks"]["status"]) == ("healthy", "ok")


@pytest.mark.integration
def test_rejected_webhooks_while_the_state_misses_the_servers_channels_degrade(
    client: Any, soketi: Any, ws_client: Any, post_webhook: Any
) -> None:
    # What an operator must fix: the server's webhooks are refused (wrong secret
    # here), nothing is accepted, and the stored state misses what the server has.
    ws = ws_client()
    ws.subscribe("public-lost")
    assert post_webhook([occupied("public-lost")], secret="wrong").status_code == 401
    data = full_status(client)
    webhooks = data["checks"]["webhooks"]
    assert data["status"] == "degraded"
    assert webhooks["status"] == "warning"
    assert webhooks["state_matches_server"] is False
    assert "rejected" in webhooks["message"] and "WEBHOOK_SECRETS" in webhooks["message"]
    # Anonymous monitors see the status, never the reason.
    anonymous = client.get(STATUS_URL)
    assert anonymous.json()["data"]["status"] == "degraded"
    assert "rejected" not in anonymous.content.decode()
