"""The example's views store models and the model bridge sends their events once
the change is committed. A test's transaction never commits, so each test-client
request here runs what it left for after commit when it returns, as the commit of
a real request would (the delivery itself is real: outbox, sender, backend).

The first try runs in the committing thread (``FIRST_ATTEMPT = "inline"``): the
test's own database connection sees the outbox rows, and SQLite's shared
in-memory test database would answer another thread "table is locked"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, TestCase

from django_toolbox_realtime import broadcasts
from tests.helpers import seed_demo


@pytest.fixture(autouse=True)
def _requests_commit(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[None]:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "FIRST_ATTEMPT": "inline"}
    request = Client.request

    def request_then_commit(self: Client, **kwargs: Any) -> Any:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return request(self, **kwargs)

    monkeypatch.setattr(Client, "request", request_then_commit)
    yield


@pytest.fixture
def demo(db: Any) -> dict[str, User]:
    """The demo data as ``make demo`` leaves it: seeded before the test, not part of
    it (its own ``agent.started`` is not pending in the test's transaction)."""
    with broadcasts.without_broadcasting():
        seed_demo()
    return {user.username: user for user in User.objects.all()}
