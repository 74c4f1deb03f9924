"""The helpers the app ships for its users' tests (``django_toolbox_realtime.testing``)."""

from __future__ import annotations

from django_toolbox_realtime import trigger_batch, trigger_event
from django_toolbox_realtime.conf import realtime_settings
from django_toolbox_realtime.testing import get_outbox, override_realtime


def test_outbox_stays_readable_after_the_block():
    """Like ``django.core.mail.outbox``: assert after the ``with`` block, not only inside."""
    with override_realtime() as outbox:
        trigger_event(channel="public-a", event="ping", data={"n": 1})
        trigger_batch([{"channel": "public-b", "event": "pong", "data": {}}])
    outbox.assert_sent("public-a", "ping", {"n": 1}, count=1)
    assert [m.name for m in outbox.messages] == ["ping", "pong"]
    assert len(outbox) == 2 and outbox.requests == 2
    assert get_outbox().events(event="ping")  # the module-level view too


def test_the_next_block_starts_empty_and_leaves_the_last_outbox_alone():
    with override_realtime() as first:
        trigger_event(channel="public-a", event="one", data={})
    with override_realtime() as second:
        assert len(second) == 0 and len(get_outbox()) == 0
        trigger_event(channel="public-a", event="two", data={})
    assert [e["event"] for e in first.events()] == ["one"]
    assert [e["event"] for e in second.events()] == ["two"]


def test_after_the_block_settings_are_restored_and_nothing_more_is_recorded(settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "ENABLED": False}
    with override_realtime() as outbox:
        assert realtime_settings.ENABLED is True
        trigger_event(channel="public-a", event="inside", data={})
    assert realtime_settings.ENABLED is False
    trigger_event(channel="public-a", event="outside", data={})  # disabled: not sent
    assert [e["event"] for e in outbox.events()] == ["inside"]


def test_clear_after_the_block_empties_that_outbox():
    with override_realtime() as outbox:
        trigger_event(channel="public-a", event="e", data={})
    outbox.clear()
    assert len(outbox) == 0 and outbox.requests == 0


def test_the_pytest_fixture_is_live_during_the_test(realtime_outbox):
    trigger_event(channel="public-a", event="live", data={})
    assert len(realtime_outbox) == 1
    realtime_outbox.clear()
    assert len(realtime_outbox) == 0
