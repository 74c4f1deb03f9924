"""Shared fixtures: a real soketi for the session, and settings that point at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings

from django_toolbox_realtime.backends import locmem
from tests.pusher_ws import PusherWSClient
from tests.soketi import SoketiServer

# The helpers the app ships for its users' tests (realtime_outbox fixture).
pytest_plugins = ["django_toolbox_realtime.testing"]

PUSHER_BACKEND = "django_toolbox_realtime.backends.pusher.PusherBackend"


def realtime_for(server: SoketiServer, **overrides: Any) -> dict[str, Any]:
    """TOOLBOX_REALTIME pointing at ``server`` through the real HTTP API."""
    return {
        **django_settings.TOOLBOX_REALTIME,
        "APP_ID": server.app_id,
        "KEY": server.key,
        "SECRET": server.secret,
        "HOST": server.host,
        "PORT": server.port,
        "SSL": False,
        "BACKEND": PUSHER_BACKEND,
        **overrides,
    }


@pytest.fixture(scope="session")
def soketi_server() -> Iterator[SoketiServer]:
    """One real soketi for the whole session (numeric app id, 10 KB event limit)."""
    server = SoketiServer(
        django_settings.TEST_APP_ID, django_settings.TEST_KEY, django_settings.TEST_SECRET
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def soketi(soketi_server: SoketiServer, settings: Any) -> SoketiServer:
    """The session's soketi, with TOOLBOX_REALTIME pointing at it for this test."""
    if soketi_server.process is None or soketi_server.process.poll() is not None:
        soketi_server.start()  # a test stopped it on purpose: bring it back
    settings.TOOLBOX_REALTIME = realtime_for(soketi_server)
    return soketi_server


@pytest.fixture
def ws_client(soketi: SoketiServer) -> Iterator[Any]:
    """Factory of connected Pusher-protocol WebSocket clients, closed after the test."""
    clients: list[PusherWSClient] = []

    def make() -> PusherWSClient:
        client = PusherWSClient(soketi.ws_url).connect()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(autouse=True)
def _clear_locmem_outbox() -> Iterator[None]:
    locmem.clear()
    yield
    locmem.clear()
