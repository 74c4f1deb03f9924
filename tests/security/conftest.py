"""Fixtures of the malformed-request tests: the app without the example project's
own middleware (the app must be safe in any project), and live servers with and
without it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings

from tests.helpers import live_server


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
    overrides = {"MIDDLEWARE": app_middleware()} if request.param == "app middleware" else {}
    with live_server(django_db_blocker, wait_timeout=30, **overrides) as url:
        yield url
