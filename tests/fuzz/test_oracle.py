"""The fuzz tests' oracle is right: the hand-written table of who may join which
channel agrees with the policy engine (``decide``), so using ``decide`` for the
names the fuzzers invent is using the same rules."""

from __future__ import annotations

import pytest

from django_toolbox_realtime.authorization.policies import decide
from tests.fuzz.world import KNOWN, LOGINS, World

pytestmark = pytest.mark.django_db


def test_the_table_names_allowed_and_denied_channels(world: World) -> None:
    allowed = {c for c, names in world.known.items() if names}
    assert len(allowed) >= 6 and len(world.known) - len(allowed) >= 12
    assert len(world.known) == len(KNOWN)  # every <user> resolved to a distinct name


@pytest.mark.parametrize("login", LOGINS)
def test_the_table_agrees_with_the_policy_engine(world: World, login: str) -> None:
    user = world.user_of(login)
    for channel, names in world.known.items():
        engine = user is not None and bool(decide(user, channel))
        assert engine == (user is not None and user.username in names), (login, channel)
