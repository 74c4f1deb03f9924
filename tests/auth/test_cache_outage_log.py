"""A cache outage during auth is said once, with its cause, not on every decision:
with Redis down, a busy site would otherwise write a traceback per request."""

from __future__ import annotations

import logging
import socket

import pytest
from django.core.cache import caches

from django_toolbox_realtime.authorization import version

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def refused_cache(settings):
    settings.CACHES = {
        **settings.CACHES,
        "down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "POLICY_CACHE": "down"}
    version.forget_outage()
    yield
    caches["down"].close()
    version.forget_outage()


def test_a_cache_outage_warns_once_then_quietly(refused_cache, caplog):
    caplog.set_level(logging.DEBUG, logger="django_toolbox_realtime.policies")
    assert [version.current_version() for _ in range(5)] == [None] * 5
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "'down'" in warnings[0].getMessage() and warnings[0].exc_info
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 4


def test_the_warning_comes_again_after_the_interval(refused_cache, caplog, monkeypatch):
    caplog.set_level(logging.WARNING, logger="django_toolbox_realtime.policies")
    clock = [1000.0]
    monkeypatch.setattr(version, "_monotonic", lambda: clock[0])
    version.current_version()
    clock[0] += version.OUTAGE_WARNING_INTERVAL + 1
    version.current_version()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2


def test_recovery_is_said(settings, refused_cache, caplog):
    caplog.set_level(logging.INFO, logger="django_toolbox_realtime.policies")
    version.current_version()
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "POLICY_CACHE": "default"}
    assert version.current_version() is not None
    assert any("available again" in r.getMessage() for r in caplog.records)
