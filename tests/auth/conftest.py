"""Fixtures of the channel-authorization tests: role groups, users, clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from django_toolbox_realtime import authorizers, policies, roles
from django_toolbox_realtime.models import ChannelPolicy

AUTH_URL = "/api/v1/pusher/auth"
USER_AUTH_URL = "/api/v1/pusher/user-auth"


@pytest.fixture(autouse=True)
def _fresh_policy_cache() -> Iterator[None]:
    """Each test starts with no compiled policies, no groups in memory, no version key."""
    cache.clear()
    policies.reset()
    roles.forget_all_groups()
    yield
    policies.reset()
    roles.forget_all_groups()
    cache.clear()


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    def make(username: str, role: str | None = None, **fields: Any) -> User:
        user = User.objects.create_user(username=username, password="pw-12345", **fields)
        if role:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    return make


@pytest.fixture
def student(make_user: Callable[..., User]) -> User:
    return make_user("stu", "student", first_name="Sam", last_name="Student")


@pytest.fixture
def teacher(make_user: Callable[..., User]) -> User:
    return make_user("tea", "teacher", first_name="Tom", last_name="Teacher")


@pytest.fixture
def policy(db: Any) -> Callable[..., ChannelPolicy]:
    def make(
        channel: str, min_role: str = "student", groups: list[Group] | None = None, **fields: Any
    ) -> ChannelPolicy:
        created = ChannelPolicy.objects.create(channel=channel, min_role=min_role, **fields)
        if groups:
            created.allowed_groups.set(groups)
        return created

    return make


@pytest.fixture
def authorizer() -> Iterator[Callable[..., Any]]:
    """Register authorizers for one test only."""
    registered: list[str] = []

    def register(pattern: str) -> Callable[..., Any]:
        registered.append(pattern)
        return authorizers.channel(pattern)

    yield register
    for pattern in registered:
        authorizers.unregister(pattern)


@pytest.fixture
def token_client() -> Callable[[User], APIClient]:
    """An API client that sends ``Authorization: Bearer <token>`` for ``user``."""

    def make(user: User) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
        return client

    return make


def form_post(client: Any, url: str = AUTH_URL, **fields: str) -> Any:
    """POST form-encoded, like pusher-js."""
    from urllib.parse import urlencode

    return client.post(url, urlencode(fields), content_type="application/x-www-form-urlencoded")
