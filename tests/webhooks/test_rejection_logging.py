"""A flood of forged webhooks does not flood the logs: rejections are logged at
WARNING as sampled for the delivery log (``WEBHOOK_REJECTIONS_LOGGED`` per
period), the rest at DEBUG (SECURITY_CASES 34)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.webhooks.conftest import occupied

pytestmark = pytest.mark.django_db


def test_forged_webhooks_beyond_the_sample_are_logged_at_debug_only(
    post_webhook: Any, settings: Any, caplog: Any
) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "WEBHOOK_REJECTIONS_LOGGED": 3}
    with caplog.at_level(logging.DEBUG, logger="django_toolbox_realtime.webhooks"):
        for i in range(20):
            response = post_webhook([occupied(f"private-forged-{i}")], secret="forged-secret")
            assert response.status_code == 401
    rejected = [r for r in caplog.records if r.getMessage().startswith("Webhook rejected")]
    assert len(rejected) == 20  # every one is still told, at some level
    assert [r.levelno for r in rejected].count(logging.WARNING) == 3
    assert "forged-secret" not in caplog.text
