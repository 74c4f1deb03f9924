"""The delivery API against the locmem backend: splitting, ids, results, errors."""

import asyncio
import logging

import pytest
from django.test import override_settings

from django_toolbox_realtime import (
    RealtimeDeliveryError,
    RealtimeValidationError,
    asend_to_user,
    atrigger_event,
    send_to_user,
    trigger_batch,
    trigger_event,
)
from django_toolbox_realtime.conf import realtime_settings
from django_toolbox_realtime.testing import override_realtime


def test_trigger_event_returns_channel_event_and_unique_id(realtime_outbox):
    first = trigger_event(channel="public-dashboard", event="update", data={"a": 1})
    second = trigger_event(channel="public-dashboard", event="update", data={"a": 1})
    assert first["channel"] == "public-dashboard"
    assert first["channels"] == ["public-dashboard"]
    assert first["event"] == "update"
    assert first["sent"] is True and first["requests"] == 1
    assert first["id"] and first["id"] != second["id"]
    sent = realtime_outbox.assert_sent("public-dashboard", "update", {"a": 1}, count=2)
    assert [m["id"] for m in sent] == [first["id"], second["id"]]


def test_fan_out_over_100_channels_is_split(realtime_outbox):
    channels = [f"private-c{i}" for i in range(250)]
    result = trigger_event(channels=channels, event="x", data={})
    assert result["requests"] == 3
    assert [len(m.channels) for m in realtime_outbox.messages] == [100, 100, 50]
    assert {m.id for m in realtime_outbox.messages} == {result["id"]}


def test_batch_of_25_is_three_requests_in_order(realtime_outbox):
    result = trigger_batch(
        [{"channel": "public-a", "event": "n", "data": {"i": i}} for i in range(25)]
    )
    assert result["requests"] == 3 and realtime_outbox.requests == 3
    assert [e["data"]["i"] for e in realtime_outbox.events(event="n")] == list(range(25))
    assert len({e["id"] for e in result["events"]}) == 25


def test_a_bad_event_in_a_batch_sends_nothing(realtime_outbox):
    events = [{"channel": "public-a", "event": "ok", "data": {}} for _ in range(12)]
    events.append({"channel": "public-a", "event": "big", "data": "€" * 4000})
    with pytest.raises(RealtimeValidationError) as info:
        trigger_batch(events)
    assert info.value.rule == "payload_size"
    assert len(realtime_outbox) == 0


def test_batch_accepts_name_key_and_rejects_bad_items(realtime_outbox):
    trigger_batch([{"channel": "public-a", "name": "legacy", "data": "raw"}])
    assert realtime_outbox.events(event="legacy")[0]["data"] == "raw"
    for bad in (["x"], [{"event": "e"}], [{"channel": ["a"], "event": "e"}]):
        with pytest.raises(RealtimeValidationError):
            trigger_batch(bad)


def test_over_limit_payload_fails_before_any_backend_call(realtime_outbox):
    with pytest.raises(RealtimeValidationError) as info:
        trigger_event("public-a", "e", {"text": "€" * 4000})
    assert info.value.rule == "payload_size" and info.value.value > 10_240
    assert realtime_outbox.requests == 0


def test_encrypted_channel_must_be_alone(realtime_outbox):
    with pytest.raises(RealtimeValidationError) as info:
        trigger_event(channels=["private-encrypted-a", "private-b"], event="e", data={})
    assert info.value.rule == "encrypted_multi_channel"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"channel": None, "event": "e"},
        {"channel": [], "event": "e"},
        {"channel": ["public-a", "public-a"], "event": "e"},
        {"channel": "public-a", "event": "pusher:x"},
        {"channel": "public-a", "event": "e", "socket_id": "1.1\n"},
    ],
)
def test_invalid_calls_raise_validation_errors(realtime_outbox, kwargs):
    with pytest.raises(RealtimeValidationError):
        trigger_event(**kwargs)
    assert len(realtime_outbox) == 0


def test_socket_id_is_passed_to_exclude_the_sender(realtime_outbox):
    trigger_event("public-a", "e", {}, socket_id="123.456")
    assert realtime_outbox.events()[0]["socket_id"] == "123.456"


def test_send_to_user_targets_the_server_to_user_channel(realtime_outbox):
    result = send_to_user(42, "quiz-result", {"score": 9})
    assert result["channel"] == "#server-to-user-42" and result["user_id"] == "42"
    realtime_outbox.assert_sent("#server-to-user-42", "quiz-result", {"score": 9})


def test_disabled_sends_nothing_and_says_so(realtime_outbox, caplog):
    with override_realtime(ENABLED=False) as outbox, caplog.at_level(logging.INFO):
        result = trigger_event("public-a", "e", {})
    assert result["sent"] is False and result["id"]
    assert len(outbox) == 0
    assert "ENABLED" in caplog.text and "not sent" in caplog.text


class FailingBackend:
    calls = 0

    def trigger(self, event):
        FailingBackend.calls += 1
        raise RealtimeDeliveryError("boom", status=500)

    trigger_batch = trigger


FAILING = "tests.delivery.test_api.FailingBackend"


def test_delivery_errors_raise_unless_fail_silently(caplog):
    with override_realtime(BACKEND=FAILING):
        with pytest.raises(RealtimeDeliveryError):
            trigger_event("public-a", "e", {})
        with caplog.at_level(logging.WARNING):
            result = trigger_event("public-a", "e", {}, fail_silently=True)
    assert result["sent"] is False and "boom" in result["error"]
    assert "not delivered" in caplog.text


def test_fail_silently_does_not_hide_validation_errors():
    with override_realtime(BACKEND=FAILING), pytest.raises(RealtimeValidationError):
        trigger_event("bad channel", "e", {}, fail_silently=True)


def test_messages_are_counted_for_the_daily_budget(realtime_outbox):
    from django_toolbox_realtime.delivery import usage

    before = usage.messages_today()
    trigger_event(channels=["public-a", "public-b"], event="e", data={})
    trigger_batch([{"channel": "public-a", "event": "e", "data": {}}] * 3)
    assert usage.messages_today() - before == 5
    with override_realtime(DAILY_MESSAGE_BUDGET=6):
        assert usage.todays_budget().remaining == max(0, 6 - usage.messages_today())


def test_async_twins(realtime_outbox):
    async def main():
        result = await atrigger_event("public-a", "async-e", {"x": 1})
        await asend_to_user("7", "hi", {})
        return result

    result = asyncio.run(main())
    assert result["sent"]
    realtime_outbox.assert_sent("public-a", "async-e", {"x": 1})
    realtime_outbox.assert_sent("#server-to-user-7", "hi")


def test_settings_reload_on_override():
    with override_settings(TOOLBOX_REALTIME={"APP_ID": "1", "KEY": "k", "SECRET": "s"}):
        assert realtime_settings.APP_ID == "1"
        assert realtime_settings.TIMEOUT == 5  # default
    assert realtime_settings.APP_ID != "1"


def test_outbox_assertion_messages_say_what_was_sent(realtime_outbox):
    trigger_event("public-a", "e", {"k": 1})
    with pytest.raises(AssertionError, match="expected 'other' on 'public-a'.*Sent: "):
        realtime_outbox.assert_sent("public-a", "other")
    with pytest.raises(AssertionError):
        realtime_outbox.assert_sent("public-a", "e", {"k": 2})
    with pytest.raises(AssertionError):
        realtime_outbox.assert_not_sent("public-a")
