"""Fixtures of the bridge's tests: registrations made and removed per test, on
models of the example project that its realtime.py does not register."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from django_toolbox_realtime import broadcasts
from django_toolbox_realtime.bridge import registry
from django_toolbox_realtime.bridge.options import ModelBroadcast
from example_project.classroom.models import Classroom, Quiz


@pytest.fixture
def register() -> Iterator[Callable[..., ModelBroadcast]]:
    """``register(model, **options)``: a ModelBroadcast subclass with those class
    attributes, registered in code for this test."""
    added: list[Any] = []

    def make(model: Any, base: type[ModelBroadcast] = ModelBroadcast, **attrs: Any) -> Any:
        cls = type(f"{model.__name__}TestBroadcast", (base,), attrs)
        broadcasts.register(model)(cls)
        added.append(model)
        found = registry.get(model)
        assert found is not None
        return found

    yield make
    for model in added:
        broadcasts.unregister(model)


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    """``with commit():`` runs what the block left for after commit, as a commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def room(db: Any) -> Classroom:
    return Classroom.objects.create(name="Room 7")


@pytest.fixture
def quiz(room: Classroom) -> Quiz:
    return Quiz.objects.create(classroom=room, title="Fractions", questions=[{"answer": "1/2"}])
