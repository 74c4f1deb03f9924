"""publish(): validation before anything is written, delivery only after commit,
coalescing by key within one transaction (locmem backend: the first try runs in
the committing thread, so the events are in the outbox as soon as it commits)."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from django_toolbox_realtime.backends import OutgoingEvent, locmem
from django_toolbox_realtime.delivery import envelope, pending
from django_toolbox_realtime.delivery.publish import pending_tag, publish
from django_toolbox_realtime.exceptions import RealtimeValidationError
from django_toolbox_realtime.models import OutboxEvent
from django_toolbox_realtime.validation import MAX_PAYLOAD_BYTES, encode_payload

# Real commits and rollbacks (the first try runs when the transaction commits).
pytestmark = pytest.mark.django_db(transaction=True)
#: Tests that never commit: the cheaper test transaction is enough.
no_commit = pytest.mark.django_db


def event(
    data: object = None, *channels: str, name: str = "changed", id: str = ""
) -> OutgoingEvent:
    return OutgoingEvent(
        id=id, name=name, channels=channels or ("public-a",), data=encode_payload(data or {})
    )


def sent() -> list[dict]:
    """What reached the backend: (channel, name, decoded data) per event."""
    return [
        {"channel": e.channels[0], "name": e.name, "data": json.loads(e.data)}
        for e in locmem.outbox
    ]


class Boom(Exception):
    pass


# --- after commit, only ------------------------------------------------------------


def test_commit_sends_once_with_the_envelope():
    with transaction.atomic():
        [accepted] = publish([event({"n": 1}, "public-a", "public-b")], source="test #1")
        assert locmem.outbox == []  # nothing before commit
    got = sent()
    assert [g["channel"] for g in got] == ["public-a", "public-b"]
    for g in got:
        assert g["data"] == {"_rt": {"id": accepted.id, "seq": 1}, "n": 1}
    rows = OutboxEvent.objects.order_by("channel")
    assert [(r.state, r.seq, r.source, r.event_id) for r in rows] == [
        ("delivered", 1, "test #1", accepted.id),
        ("delivered", 1, "test #1", accepted.id),
    ]


def test_no_transaction_sends_at_once():
    publish([event({"n": 1})])
    assert [g["data"]["n"] for g in sent()] == [1]


def test_rollback_writes_and_sends_nothing():
    with pytest.raises(Boom), transaction.atomic():
        publish([event({"n": 1})])
        raise Boom
    assert locmem.outbox == [] and OutboxEvent.objects.count() == 0


def test_a_rolled_back_savepoint_writes_and_sends_nothing():
    with transaction.atomic():
        publish([event({"kept": True})])
        with pytest.raises(Boom), transaction.atomic():
            publish([event({"kept": False})])
            raise Boom
    assert [g["data"]["kept"] for g in sent()] == [True]
    assert OutboxEvent.objects.count() == 1


def test_sequence_numbers_count_per_channel():
    for _ in range(3):
        publish([event({}, "public-a")])
    publish([event({}, "public-b")])
    assert [(g["channel"], g["data"]["_rt"]["seq"]) for g in sent()] == [
        ("public-a", 1),
        ("public-a", 2),
        ("public-a", 3),
        ("public-b", 1),
    ]


def test_non_object_payloads_are_sent_without_envelope():
    publish([OutgoingEvent(id="", name="e", channels=("public-a",), data="[1, 2]")])
    assert locmem.outbox[0].data == "[1, 2]"


def test_disabled_writes_and_sends_nothing(settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "ENABLED": False}
    [accepted] = publish([event({"n": 1})])
    assert accepted.id and locmem.outbox == [] and OutboxEvent.objects.count() == 0


# --- validation before anything is written --------------------------------------------


@no_commit
@pytest.mark.parametrize(
    ("bad", "rule"),
    [
        (event({"_rt": 1}), "payload_reserved_key"),
        (event({"a": "x" * (MAX_PAYLOAD_BYTES - 20)}), "payload_size"),
        (event({}, *[f"public-{i}" for i in range(101)]), "channel_count"),
        (event({}, "public-a", "public-a"), "channel_duplicate"),
        (event({}, "private-encrypted-a", "public-b"), "encrypted_multi_channel"),
        (event({}, "bad name"), "channel_characters"),
        (event({}, name="pusher:x"), "event_reserved"),
        (event({}, id='a"b'), "event_id"),
    ],
)
def test_a_bad_event_is_refused_and_nothing_is_written(bad, rule):
    with pytest.raises(RealtimeValidationError) as info:
        publish([event({"fine": 1}), bad])
    assert info.value.rule == rule
    assert OutboxEvent.objects.count() == 0 and locmem.outbox == []


def test_a_nested_reserved_key_is_allowed():
    publish([event({"inner": {"_rt": 1}})])
    assert sent()[0]["data"]["inner"] == {"_rt": 1}


def test_the_size_limit_leaves_room_for_the_envelope():
    room = envelope.envelope_bytes("x" * 32)
    just_fits = '{"a":"' + "x" * (MAX_PAYLOAD_BYTES - room - 8) + '"}'
    too_big = '{"a":"' + "x" * (MAX_PAYLOAD_BYTES - room - 7) + '"}'
    publish([OutgoingEvent(id="x" * 32, name="e", channels=("public-a",), data=just_fits)])
    assert len(locmem.outbox[0].data.encode()) <= MAX_PAYLOAD_BYTES
    with pytest.raises(RealtimeValidationError) as info:
        publish([OutgoingEvent(id="x" * 32, name="e", channels=("public-a",), data=too_big)])
    assert "envelope" in str(info.value) and info.value.limit == MAX_PAYLOAD_BYTES - room


@no_commit
def test_the_envelope_of_the_largest_sequence_number_still_fits():
    wrapped = envelope.wrap("{}", "x" * 64, 10**19 - 1)
    assert len(wrapped) - 2 <= envelope.envelope_bytes("x" * 64)


# --- coalescing by key ------------------------------------------------------------------


def test_a_later_publish_with_the_same_key_replaces_the_earlier_one():
    with transaction.atomic():
        [first] = publish([event({"v": 1})], key="quiz:1", tag="created")
        [second] = publish([event({"v": 2})], key="quiz:1", tag="updated")
        assert second.id == first.id
        assert pending_tag("quiz:1") == "created"  # the first tag stays
        assert OutboxEvent.objects.count() == 1
    assert [g["data"] for g in sent()] == [{"_rt": {"id": first.id, "seq": 1}, "v": 2}]
    assert pending_tag("quiz:1") is None  # forgotten at commit


def test_publishing_nothing_under_a_key_cancels():
    with transaction.atomic():
        publish([event({"v": 1})], key="quiz:1", tag="created")
        publish([], key="quiz:1")
        assert pending_tag("quiz:1") is None
    assert locmem.outbox == [] and OutboxEvent.objects.count() == 0


def test_the_memory_of_keys_does_not_survive_a_rollback():
    with pytest.raises(Boom), transaction.atomic():
        publish([event({"v": 1})], key="quiz:1", tag="created")
        raise Boom
    with transaction.atomic():
        assert pending_tag("quiz:1") is None
        [again] = publish([event({"v": 2})], key="quiz:1", tag="updated")
        assert pending_tag("quiz:1") == "updated"
    assert [g["data"]["v"] for g in sent()] == [2]


def test_a_replacement_in_a_rolled_back_savepoint_leaves_the_earlier_event():
    with transaction.atomic():
        [first] = publish([event({"v": 1})], key="quiz:1", tag="created")
        with pytest.raises(Boom), transaction.atomic():
            publish([event({"v": 2})], key="quiz:1", tag="updated")
            assert OutboxEvent.objects.count() == 1
            raise Boom
        remembered = pending.live("default", "quiz:1")
        assert remembered.events[0].id == first.id
        assert json.loads(remembered.events[0].data) == {"v": 1}  # the earlier one again
        assert pending_tag("quiz:1") == "created"
    assert [g["data"]["v"] for g in sent()] == [1]


def test_a_key_published_in_a_rolled_back_savepoint_is_forgotten():
    with transaction.atomic():
        with pytest.raises(Boom), transaction.atomic():
            publish([event({"v": 1})], key="quiz:1", tag="created")
            raise Boom
        assert pending_tag("quiz:1") is None
        publish([event({"v": 2})], key="quiz:1", tag="updated")
        assert pending_tag("quiz:1") == "updated"
    assert [g["data"]["v"] for g in sent()] == [2]


def test_outside_a_transaction_there_is_no_memory():
    publish([event({"v": 1})], key="quiz:1", tag="created")
    assert pending_tag("quiz:1") is None
    publish([event({"v": 2})], key="quiz:1", tag="updated")
    assert [g["data"]["v"] for g in sent()] == [1, 2]


def test_immediate_mode_coalesces_and_writes_no_row(settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "DELIVERY": "immediate"}
    with transaction.atomic():
        [first] = publish([event({"v": 1})], key="k", tag="created")
        [second] = publish([event({"v": 2})], key="k", tag="updated")
    assert second.id == first.id and OutboxEvent.objects.count() == 0
    assert [g["data"] for g in sent()] == [{"_rt": {"id": first.id, "seq": 1}, "v": 2}]


def test_immediate_mode_sends_both_when_the_replacement_may_roll_back_alone(settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "DELIVERY": "immediate"}
    with transaction.atomic():
        publish([event({"v": 1})], key="k", tag="created")
        with transaction.atomic():  # could have been rolled back without the first
            publish([event({"v": 2})], key="k", tag="updated")
    assert [g["data"]["v"] for g in sent()] == [1, 2]
    ids = {g["data"]["_rt"]["id"] for g in sent()}
    assert len(ids) == 2  # two events, so a client keeps the final one


def test_immediate_mode_rollback_sends_nothing(settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "DELIVERY": "immediate"}
    with pytest.raises(Boom), transaction.atomic():
        publish([event({"v": 1})])
        raise Boom
    assert locmem.outbox == []
