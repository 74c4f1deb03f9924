"""Fixtures of the channel-authorization tests: role groups, users, clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from django_toolbox_realtime.authorization import authorizers
from django_toolbox_realtime.models import ChannelPolicy

# make_user, token_client and demo are in tests/conftest.py; form_post in tests/helpers.py.


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
