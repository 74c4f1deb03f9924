"""The body rules shared by the auth endpoints and the webhook
(``django_toolbox_realtime.bodies``): the declared Content-Length, and a strict
JSON object loader."""

from __future__ import annotations

import json

import pytest

from django_toolbox_realtime import bodies
from django_toolbox_realtime.exceptions import RealtimeValidationError


def nested(depth: int, leaf: str = "1") -> bytes:
    """``{"a": [{"a": [ ... leaf ... ]}]}`` with ``depth`` containers."""
    opening = "".join('{"a":' if i % 2 == 0 else "[" for i in range(depth))
    closing = "".join("}" if i % 2 == 0 else "]" for i in reversed(range(depth)))
    return (opening + leaf + closing).encode()


# --- Content-Length ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "expected"), [(None, 0), ("", 0), ("0", 0), ("17", 17), ("007", 7)]
)
def test_declared_length(declared: str | None, expected: int) -> None:
    meta = {} if declared is None else {"CONTENT_LENGTH": declared}
    assert bodies.declared_length(meta) == expected


@pytest.mark.parametrize(
    "declared",
    [
        "abc",
        "-1",
        "-0",
        "+5",
        "5_0",  # int() takes it
        " 5",  # int() takes it
        "5 ",
        "٥",  # a non-ASCII digit: int() takes it
        "1e3",
        "0x10",
        "5.0",
        "9" * 5000,  # int() raises ValueError past 4300 digits; still a clean refusal
        "1" * (bodies.MAX_CONTENT_LENGTH_DIGITS + 1),
    ],
)
def test_bad_content_length_is_a_validation_error(declared: str) -> None:
    with pytest.raises(RealtimeValidationError) as caught:
        bodies.declared_length({"CONTENT_LENGTH": declared})
    assert caught.value.rule == "content_length"
    assert "Content-Length" in str(caught.value)
    assert len(str(caught.value)) < 200  # a huge header is not echoed


def test_a_body_shorter_than_declared_is_refused() -> None:
    assert bodies.check_complete(b"abc", 3) == b"abc"
    with pytest.raises(RealtimeValidationError) as caught:
        bodies.check_complete(b"abc", 10)
    assert caught.value.rule == "body_incomplete" and "10" in str(caught.value)


# --- strict JSON --------------------------------------------------------------------------


def test_an_object_is_loaded() -> None:
    raw = b'{"socket_id": "1.2", "n": [1, 2.5, {"x": null}], "t": true}'
    assert bodies.load_json_object(raw) == json.loads(raw)
    assert bodies.load_json_object(raw.decode()) == json.loads(raw)


def test_nesting_up_to_the_bound_is_accepted() -> None:
    data = bodies.load_json_object(nested(bodies.MAX_JSON_DEPTH))
    depth, node = 0, data
    while isinstance(node, dict | list):
        depth += 1
        node = node["a"] if isinstance(node, dict) else node[0]
    assert depth == bodies.MAX_JSON_DEPTH


@pytest.mark.parametrize("depth", [33, 34, 500, 999, 1_001, 5_000, 100_000])
def test_deeper_nesting_is_refused_without_a_recursion_error(depth: int) -> None:
    assert bodies.MAX_JSON_DEPTH == 32
    with pytest.raises(RealtimeValidationError) as caught:
        bodies.load_json_object(nested(depth))
    assert caught.value.rule == "json_depth"
    assert str(bodies.MAX_JSON_DEPTH) in str(caught.value)  # names the limit


@pytest.mark.parametrize("raw", [b"[" * 100_000 + b"]" * 100_000, b"[" * 100_000])
def test_deep_arrays_at_the_top_are_refused(raw: bytes) -> None:
    with pytest.raises(RealtimeValidationError):
        bodies.load_json_object(b'{"a": ' + raw + b"}")
    with pytest.raises(RealtimeValidationError):
        bodies.load_json_object(raw)


def test_brackets_inside_strings_are_not_nesting() -> None:
    text = "[" * 1000 + "{" * 1000
    assert bodies.load_json_object(json.dumps({"s": text}).encode()) == {"s": text}


def test_many_shallow_containers_are_fine() -> None:
    raw = json.dumps({"events": [{"name": "x", "data": {"k": [i]}} for i in range(2000)]})
    assert len(bodies.load_json_object(raw.encode())["events"]) == 2000


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (b'{"a": 1, "a": 2}', "json_duplicate_key"),
        (b'{"a": {"b": 1, "b": 1}}', "json_duplicate_key"),
        (b'{"a": [{"c": 1, "c": 2}]}', "json_duplicate_key"),
        (b'{"a": NaN}', "json_constant"),
        (b'{"a": Infinity}', "json_constant"),
        (b'{"a": -Infinity}', "json_constant"),
        (b'{"a": 1e999}', "json_constant"),  # overflows to infinity
        (b'{"a": [-1e400]}', "json_constant"),
        (b'{"a": 1}x', "json"),
        (b"{not json", "json"),
        (b"", "json"),
        (b'{"a": "\xff"}', "json"),
        (b'{"a": ' + b"9" * 5000 + b"}", "json"),  # beyond int()'s digit limit
        (b"[]", "json_not_object"),
        (b'"s"', "json_not_object"),
        (b"null", "json_not_object"),
        (b"3", "json_not_object"),
    ],
)
def test_strict_refusals(raw: bytes, rule: str) -> None:
    with pytest.raises(RealtimeValidationError) as caught:
        bodies.load_json_object(raw)
    assert caught.value.rule == rule, caught.value


def test_a_repeated_key_is_named_briefly() -> None:
    key = "k" * 500
    with pytest.raises(RealtimeValidationError) as caught:
        bodies.load_json_object(json.dumps({key: 1}).replace("}", f', "{key}": 2}}').encode())
    assert "kkkk" in str(caught.value) and len(str(caught.value)) < 120
