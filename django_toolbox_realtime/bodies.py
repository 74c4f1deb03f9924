"""The rules every request body of the app follows (the auth endpoints and the
webhook share this one copy).

* **Content-Length** is ASCII digits only (at most :data:`MAX_CONTENT_LENGTH_DIGITS`)
  or absent; ``int()`` would also take ``-1``, ``+5``, ``5_0``, `` 5`` and non-ASCII
  digits, and Django's ``request.body`` raises ``ValueError`` (a 500) on the rest.
  A body that ends before its declared length (a client that half-closes) is
  refused, not parsed: a truncated form can still parse, as another request.
* **JSON** must be one object; a repeated key (at any depth) is an error, never
  last-wins (two parsers, a proxy's and ours, must not read different values);
  ``NaN``/``Infinity`` are refused; nesting deeper than :data:`MAX_JSON_DEPTH`
  containers is refused (and Python's own ``RecursionError`` on deeper input is
  caught: never a 500).

Every failure is a :class:`~django_toolbox_realtime.exceptions.RealtimeValidationError`
whose ``rule`` says which rule (``content_length``, ``body_incomplete``, ``json``,
``json_depth``, ``json_duplicate_key``, ``json_constant``, ``json_not_object``) and
whose message is safe to return: it never echoes more than a few characters of
the input. Each caller turns it into its own 400.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, NoReturn

from .exceptions import RealtimeValidationError

#: Containers (objects and arrays) a JSON body may nest; the top-level object is 1.
#: Pusher's webhook bodies need 3, pusher-js's auth bodies 1.
MAX_JSON_DEPTH = 32
#: Digits a Content-Length may have (10**18 bytes is beyond every size limit).
MAX_CONTENT_LENGTH_DIGITS = 18

_DIGITS = re.compile(rf"\A[0-9]{{1,{MAX_CONTENT_LENGTH_DIGITS}}}\Z")


def _fail(message: str, rule: str, value: Any = None, limit: Any = None) -> NoReturn:
    raise RealtimeValidationError(message, rule=rule, value=value, limit=limit)


def declared_length(meta: Mapping[str, Any]) -> int:
    """The request's ``CONTENT_LENGTH`` (WSGI/ASGI ``META``) as an int; absent or
    empty is 0. Anything but 1-18 ASCII digits is a RealtimeValidationError."""
    raw = meta.get("CONTENT_LENGTH")
    if raw is None or raw == "":
        return 0
    if not isinstance(raw, str) or not _DIGITS.match(raw):
        _fail(
            "Content-Length must be a whole number of bytes "
            f"(ASCII digits, at most {MAX_CONTENT_LENGTH_DIGITS}).",
            "content_length",
            limit=MAX_CONTENT_LENGTH_DIGITS,
        )
    return int(raw)


def check_complete(body: bytes, declared: int) -> bytes:
    """``body`` if it is as long as its Content-Length said; else a
    RealtimeValidationError (a server never reads more than was declared)."""
    if len(body) != declared:
        _fail(
            f"The body is {len(body):,} bytes but its Content-Length says {declared:,}.",
            "body_incomplete",
            len(body),
            declared,
        )
    return body


def read_body(request: Any) -> bytes:
    """``request.body`` (Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` applies), after
    checking the declared Content-Length, and checked to be complete."""
    declared = declared_length(request.META)
    return check_complete(request.body, declared)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            _fail(f"JSON key {key[:40]!r} appears twice.", "json_duplicate_key", key[:40])
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    _fail(f"JSON {name} is not allowed.", "json_constant", name)


def _finite_float(text: str) -> float:
    # 1e999 parses as infinity: the same value NaN/Infinity would be, refused alike.
    value = float(text)
    if not math.isfinite(value):
        _fail("JSON numbers must be finite.", "json_constant", text[:20])
    return value


def _too_deep() -> NoReturn:
    _fail(
        f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.",
        "json_depth",
        limit=MAX_JSON_DEPTH,
    )


def _check_depth(data: Any) -> None:
    """Walk ``data`` without recursion; refuse more than MAX_JSON_DEPTH levels."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            _too_deep()
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def load_json_object(raw: bytes | str) -> dict[str, Any]:
    """``raw`` (UTF-8) as a JSON object, under the rules of this module."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except RecursionError:  # deeper than Python's own limit (about 1,000)
        _too_deep()
    except RealtimeValidationError:
        raise
    except ValueError:  # includes UnicodeDecodeError, ints beyond 4,300 digits
        _fail("Malformed JSON body.", "json")
    if not isinstance(data, dict):
        _fail("The JSON body must be an object.", "json_not_object")
    if text.count("{") + text.count("[") > MAX_JSON_DEPTH:  # else it cannot be deeper
        _check_depth(data)
    return data
