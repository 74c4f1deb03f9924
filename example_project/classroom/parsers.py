"""Request bodies of the example's API views, parsed so that no body is a 500.

* JSON must be one object of UTF-8 text, at most ``DATA_UPLOAD_MAX_MEMORY_SIZE``
  bytes (413 beyond); a repeated key is an error (never last-wins), NaN/Infinity are
  refused, and nesting deeper than :data:`MAX_JSON_DEPTH` containers is a 400
  (Python's own ``RecursionError`` on thousands of levels is caught too).
* The token view's forms (urlencoded and multipart) refuse a repeated field: two
  ``username`` values must not let a proxy and the view read different users.

Content-Length itself is checked before any of this, by
:class:`~example_project.classroom.middleware.ContentLengthMiddleware`.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import QueryDict
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser, DataAndFiles, FormParser, MultiPartParser

#: Containers (objects, arrays) a JSON body may nest; ``{"answers": ["4"]}`` is 2.
MAX_JSON_DEPTH = 32


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def read_limited(stream: Any) -> bytes:
    """The body, at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (None: no limit)."""
    if stream is None:
        return b""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return bytes(stream.read())
    raw = bytes(stream.read(limit + 1))
    if len(raw) > limit:
        raise BodyTooLarge(
            f"The body is over {limit:,} bytes (settings.DATA_UPLOAD_MAX_MEMORY_SIZE)."
        )
    return raw


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise exceptions.ParseError(f"JSON key {key[:40]!r} appears twice.")
        result[key] = value
    return result


def _constant(name: str) -> Any:
    raise exceptions.ParseError(f"JSON {name} is not allowed.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise exceptions.ParseError("JSON numbers must be finite (no NaN or Infinity).")
    return value


def _check_depth(value: Any) -> None:
    """Iteratively (no recursion of our own): no container deeper than the limit."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise exceptions.ParseError(
                    f"JSON nested more than {MAX_JSON_DEPTH} levels deep is not accepted."
                )
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_float=_finite,
        )
    except RecursionError as exc:
        raise exceptions.ParseError(
            f"JSON nested more than {MAX_JSON_DEPTH} levels deep is not accepted."
        ) from exc
    except ValueError as exc:  # also UnicodeDecodeError and over-long integers
        raise exceptions.ParseError("Malformed JSON body (UTF-8 JSON expected).") from exc
    if not isinstance(data, dict):
        raise exceptions.ParseError("The JSON body must be an object.")
    _check_depth(data)
    return data


class SafeJSONParser(BaseParser):
    """``application/json`` bodies, by :func:`parse_json_object`."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return parse_json_object(read_limited(stream))


def _refuse_repeats(data: Any) -> None:
    for key, values in data.lists():
        if len(values) > 1:
            raise exceptions.ParseError(f"Field {key[:40]!r} appears twice.")


class StrictFormParser(FormParser):
    """Urlencoded forms; a repeated field is a 400."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            pairs = parse_qsl(
                read_limited(stream).decode("utf-8"),
                keep_blank_values=True,
                max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
            )
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError("The form is not UTF-8.") from exc
        except ValueError as exc:  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
            raise exceptions.ParseError(
                "Too many form fields (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)."
            ) from exc
        data = QueryDict(mutable=True)
        for key, value in pairs:
            data.appendlist(key, value)
        _refuse_repeats(data)
        data._mutable = False
        return data


class StrictMultiPartParser(MultiPartParser):
    """Multipart forms (Django's parser and its limits); a repeated field is a 400."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        parsed: DataAndFiles = super().parse(stream, media_type, parser_context)
        _refuse_repeats(parsed.data)
        _refuse_repeats(parsed.files)
        return parsed
