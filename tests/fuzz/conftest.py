"""Fixtures of the fuzz tests: the hypothesis profile that bounds them, the
middleware stack they run behind (Django's only, or the example project's), and
the seeded world (``world.py``).

Bounds: every test takes its example count from the ``fuzz`` profile (scaled by
the ``FUZZ_SCALE`` environment variable, default 1, for a longer local hunt) and
has no deadline; the whole directory runs in well under 90 s per database on two
cores at scale 1.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, settings

from tests.fuzz.world import MASTER_KEY, World, build_world

F = TypeVar("F", bound=Callable[..., Any])

SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
settings.register_profile(
    "fuzz",
    deadline=None,
    # Function-scoped fixtures (the world) are built once per test, on purpose:
    # every example runs against the same seeded users and policies.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    print_blob=True,
)


def fuzz(examples: int) -> Callable[[F], F]:
    """``@settings`` of the ``fuzz`` profile with ``examples`` examples (times
    ``FUZZ_SCALE``)."""
    return settings(settings.get_profile("fuzz"), max_examples=max(1, int(examples * SCALE)))


def app_middleware() -> list[str]:
    """MIDDLEWARE without the example project's own classes (its Content-Length
    guard would answer before the app's views are reached)."""
    return [m for m in django_settings.MIDDLEWARE if not m.startswith("example_project.")]


@pytest.fixture(params=["app middleware", "project middleware"])
def middleware_stack(request: Any, settings: Any) -> str:
    """Each fuzz test runs twice: behind Django's middleware only (the app must be
    safe in a project that adds nothing) and behind the example project's."""
    if request.param == "app middleware":
        settings.MIDDLEWARE = app_middleware()
    return str(request.param)


@pytest.fixture
def world(db: Any, middleware_stack: str, settings: Any) -> World:
    """The seeded users, policies, classrooms and signed-in clients; encrypted
    channels can be signed."""
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ENCRYPTION_MASTER_KEY_BASE64": MASTER_KEY,
    }
    return build_world()
