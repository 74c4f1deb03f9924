"""Fixtures of the malformed-request tests: the app without the example project's
own middleware (the app must be safe in any project), and live servers with and
without it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.test import override_settings
from django.test.testcases import LiveServerThread


def app_middleware() -> list[str]:
    """MIDDLEWARE without the example project's own classes (its Content-Length
    guard would answer before the app's views are reached)."""
    return [m for m in django_settings.MIDDLEWARE if not m.startswith("example_project.")]


@pytest.fixture
def without_project_middleware(settings: Any) -> None:
    """The test client runs the app's views behind Django's middleware only."""
    settings.MIDDLEWARE = app_middleware()


@pytest.fixture(scope="module", params=["app middleware", "example project middleware"])
def server_url(request: Any, django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """A live Django server (a real socket); its base URL. Once with Django's
    middleware only (a project that adds nothing), once with the example project's."""
    from django.db import connections

    shared = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}
    middleware = app_middleware() if request.param == "app middleware" else None
    with (
        django_db_blocker.unblock(),
        override_settings(**({"MIDDLEWARE": middleware} if middleware is not None else {})),
    ):
        thread = LiveServerThread("127.0.0.1", StaticFilesHandler, connections_override=shared)
        thread.daemon = True
        for conn in shared.values():
            conn.inc_thread_sharing()
        thread.start()
        thread.is_ready.wait(timeout=30)  # the handler (and its middleware) is built by now
        if thread.error:
            raise thread.error
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.terminate()
        for conn in shared.values():
            conn.dec_thread_sharing()
