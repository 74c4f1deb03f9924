"""Shared fixtures: a real soketi for the session, and settings that point at it;
a fresh authorization cache for every test; users, Bearer-token clients and the
example project's demo data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from rest_framework.test import APIClient

from django_toolbox_realtime.authorization import groups, matcher, version
from django_toolbox_realtime.backends import locmem
from django_toolbox_realtime.delivery import usage
from tests.helpers import bearer_headers, seed_demo
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
def _fresh_message_count() -> Iterator[None]:
    # Counts buffered in the process would outlive the test's rolled-back rows.
    usage.discard_unwritten()
    yield
    usage.discard_unwritten()


@pytest.fixture(autouse=True)
def _clear_locmem_outbox() -> Iterator[None]:
    locmem.clear()
    yield
    locmem.clear()


@pytest.fixture(autouse=True)
def _fresh_policy_cache() -> Iterator[None]:
    """Each test starts with no compiled policies, no groups in memory, no version key
    and no cache outage known."""
    cache.clear()
    matcher.reset()
    groups.forget_all_groups()
    version.forget_outage()
    yield
    matcher.reset()
    groups.forget_all_groups()
    cache.clear()


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    """``make_user(username, role=None, **fields)``: a user (password ``pw-12345``),
    in the group named like ``role`` if one is given."""

    def make(username: str, role: str | None = None, **fields: Any) -> User:
        user = User.objects.create_user(username=username, password="pw-12345", **fields)
        if role:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    return make


@pytest.fixture
def token_client(db: Any) -> Callable[[User], APIClient]:
    """An API client that sends ``Authorization: Bearer <token>`` for ``user``."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(**bearer_headers(user))
        return client

    return make


@pytest.fixture
def demo(db: Any) -> dict[str, User]:
    """The example project's demo data (``seed_demo``); its users by username."""
    seed_demo()
    return {user.username: user for user in User.objects.all()}
