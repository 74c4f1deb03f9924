"""The protocol's limits, enforced before any network call (PROTOCOL.md)."""

import contextlib
import datetime as dt
import decimal
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_toolbox_realtime.exceptions import RealtimeValidationError
from django_toolbox_realtime.validation import (
    MAX_PAYLOAD_BYTES,
    MAX_SOCKET_ID_PART_DIGITS,
    channel_kind,
    chunked,
    encode_payload,
    validate_channel_name,
    validate_event_name,
    validate_socket_id,
    validate_trigger_channel,
    validate_user_id,
)


@pytest.mark.parametrize(
    "name",
    [
        "public-dashboard",
        "private-teacher",
        "presence-classroom-101",
        "private-encrypted-x",
        "a",
        "A-Za-z0-9_-=@,.;",
        "c" * 164,
    ],
)
def test_valid_channel_names(name):
    assert validate_channel_name(name) == name


@pytest.mark.parametrize(
    "name, rule",
    [
        ("", "channel_empty"),
        ("c" * 165, "channel_length"),
        ("private-a:b", "channel_characters"),
        ("private-a\n", "channel_characters"),
        ("private a", "channel_characters"),
        ("#server-to-user-1", "channel_characters"),
        ("private-٣", "channel_characters"),  # non-ASCII digit
        ("private-é", "channel_characters"),
        (None, "channel_type"),
        (123, "channel_type"),
    ],
)
def test_invalid_channel_names_name_the_rule(name, rule):
    with pytest.raises(RealtimeValidationError) as info:
        validate_channel_name(name)
    assert info.value.rule == rule


def test_channel_length_error_reports_measured_value_and_limit():
    with pytest.raises(RealtimeValidationError) as info:
        validate_channel_name("x" * 200)
    assert (info.value.value, info.value.limit) == (200, 164)
    assert "200" in str(info.value) and "164" in str(info.value)


def test_server_to_user_channel_only_via_trigger_validation():
    assert validate_trigger_channel("#server-to-user-42") == "#server-to-user-42"
    with pytest.raises(RealtimeValidationError):
        validate_trigger_channel("#server-to-user-")
    with pytest.raises(RealtimeValidationError):
        validate_trigger_channel("#server-to-user-a:b")


@pytest.mark.parametrize("event", ["pusher:subscribe", "pusher_internal:x", "", "e" * 201, None])
def test_invalid_event_names(event):
    with pytest.raises(RealtimeValidationError):
        validate_event_name(event)


@pytest.mark.parametrize(
    "socket_id",
    ["1.1:private-admin", "1.1\n", "١٢٣.٤٥٦", "", "1" * 10_000, "1", "a.b", 1.1, ["1.1"], None],
)
def test_invalid_socket_ids(socket_id):
    with pytest.raises(RealtimeValidationError):
        validate_socket_id(socket_id)


def test_valid_socket_id():
    assert validate_socket_id("1234.5678") == "1234.5678"


@pytest.mark.parametrize(
    "socket_id",
    [
        "1" * 5_000 + "." + "1" * 4_999,  # SECURITY_CASES 1: 10,000 characters
        "1" * (MAX_SOCKET_ID_PART_DIGITS + 1) + ".1",
        "1." + "1" * (MAX_SOCKET_ID_PART_DIGITS + 1),
    ],
)
def test_socket_id_parts_are_bounded(socket_id):
    assert MAX_SOCKET_ID_PART_DIGITS == 20  # what real servers issue fits
    with pytest.raises(RealtimeValidationError) as caught:
        validate_socket_id(socket_id)
    message = str(caught.value)
    assert "at most 20 digits" in message and len(message) < 160  # names the limit, briefly
    assert caught.value.limit == MAX_SOCKET_ID_PART_DIGITS


def test_the_longest_socket_id_is_valid():
    longest = "9" * MAX_SOCKET_ID_PART_DIGITS + "." + "9" * MAX_SOCKET_ID_PART_DIGITS
    assert validate_socket_id(longest) == longest


@pytest.mark.parametrize(
    "user_id, ok",
    [
        (1, True),
        ("abc", True),
        ("u" * 128, True),
        ("u" * 129, False),
        ("", False),
        ("a b", False),
        (True, False),
        (None, False),
    ],
)
def test_user_ids(user_id, ok):
    if ok:
        assert validate_user_id(user_id) == str(user_id)
    else:
        with pytest.raises(RealtimeValidationError):
            validate_user_id(user_id)


def test_payload_is_measured_in_utf8_bytes_not_characters():
    # 4,000 characters but 12,000 UTF-8 bytes (+ quotes): over the 10,240-byte limit.
    with pytest.raises(RealtimeValidationError) as info:
        encode_payload("€" * 4000)
    assert info.value.rule == "payload_size"
    assert info.value.value == 12_000
    assert info.value.limit == MAX_PAYLOAD_BYTES
    assert "12,000" in str(info.value) and "10,240" in str(info.value)


def test_payload_exactly_at_limit_passes():
    data = "x" * MAX_PAYLOAD_BYTES
    assert encode_payload(data) == data
    with pytest.raises(RealtimeValidationError):
        encode_payload(data + "x")


def test_payload_encodes_django_types_compactly():
    encoded = encode_payload(
        {
            "at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
            "price": decimal.Decimal("1.50"),
            "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "text": "€",
        }
    )
    assert encoded == (
        '{"at":"2026-01-02T03:04:05Z","price":"1.50",'
        '"id":"12345678-1234-5678-1234-567812345678","text":"€"}'
    )


def test_unencodable_payload_is_a_validation_error():
    with pytest.raises(RealtimeValidationError) as info:
        encode_payload({"x": object()})
    assert info.value.rule == "payload_json"


def test_channel_kinds():
    assert [
        channel_kind(c)
        for c in ("private-encrypted-a", "private-a", "presence-a", "#server-to-user-1", "a")
    ] == ["encrypted", "private", "presence", "user", "public"]


@given(st.lists(st.integers(), max_size=60), st.integers(min_value=1, max_value=12))
def test_chunked_keeps_order_and_bounds(items, size):
    chunks = chunked(items, size)
    assert [x for c in chunks for x in c] == items
    assert all(1 <= len(c) <= size for c in chunks)


@given(st.text(max_size=300))
def test_channel_validation_never_raises_anything_else(name):
    with contextlib.suppress(RealtimeValidationError):
        assert validate_channel_name(name) == name


def test_payload_size_counts_four_byte_characters():
    # 2,560 emoji are 10,240 UTF-8 bytes: exactly the limit; one more is over.
    assert encode_payload("😀" * 2560) == "😀" * 2560
    with pytest.raises(RealtimeValidationError) as info:
        encode_payload("😀" * 2561)
    assert info.value.value == 10_244
