"""Strict parsers for the auth endpoints' bodies: a repeated key or field is an
error, never last-wins (two ``channel_name`` values must not let a proxy and the
view read different channels; only the batch endpoint's list field may repeat,
as a list); for JSON, also NaN/Infinity and nesting deeper
than ``bodies.MAX_JSON_DEPTH`` (the rules shared with the webhook, in
:mod:`django_toolbox_realtime.bodies`).

The functions parse raw bytes and raise DRF's ``ParseError`` (a 400); the DRF
parser classes wrap them for the CSRF check of session logins, which reads
``request.POST`` before the view runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from rest_framework import exceptions as drf_exceptions
from rest_framework.parsers import FormParser, JSONParser

from .. import bodies
from ..exceptions import RealtimeValidationError


def _unique(pairs: Iterable[tuple[str, Any]], label: str) -> dict[str, Any]:
    """``pairs`` as a dict; a repeated key is a ParseError, not last-wins."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise drf_exceptions.ParseError(f"{label} {key[:40]!r} appears twice.")
        result[key] = value
    return result


def read_body(request: Any) -> bytes:
    """The raw body, its Content-Length checked first (``bodies.read_body``)."""
    try:
        return bodies.read_body(request)
    except RealtimeValidationError as exc:
        raise drf_exceptions.ParseError(str(exc)) from exc


def parse_strict_json(raw: bytes) -> dict[str, Any]:
    """A JSON object under ``bodies.load_json_object``'s rules."""
    try:
        return bodies.load_json_object(raw)
    except RealtimeValidationError as exc:
        raise drf_exceptions.ParseError(str(exc)) from exc


def _form_pairs(raw: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except UnicodeDecodeError as exc:
        raise drf_exceptions.ParseError("The form is not UTF-8.") from exc
    except ValueError as exc:  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
        raise drf_exceptions.ParseError("Too many form fields.") from exc


def parse_form(raw: bytes) -> dict[str, str]:
    """An urlencoded body; a repeated field is an error, not last-wins."""
    return _unique(_form_pairs(raw), "Field")


def parse_list_form(raw: bytes, field: str) -> dict[str, Any]:
    """:func:`parse_form`, except that ``field`` is a list, in the order given:
    ``field=a&field=b``, ``field[]=a&field[]=b`` or ``field[0]=a&field[1]=b`` (the
    spellings of PHP, jQuery and axios). An index given twice is an error; every
    other field must appear once."""
    pattern = re.compile(rf"{re.escape(field)}(?:\[\]|\[(\d{{1,4}})\])?")
    values: list[str] = []
    indexes: set[str] = set()
    others: list[tuple[str, str]] = []
    for key, value in _form_pairs(raw):
        match = pattern.fullmatch(key)
        if match is None:
            others.append((key, value))
            continue
        if match.group(1) is not None:
            if match.group(1) in indexes:
                raise drf_exceptions.ParseError(f"Field {key[:40]!r} appears twice.")
            indexes.add(match.group(1))
        values.append(value)
    result: dict[str, Any] = _unique(others, "Field")
    if values:
        result[field] = values
    return result


class StrictJSONParser(JSONParser):
    """DRF parser form of :func:`parse_strict_json`."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return parse_strict_json(stream.read() if stream is not None else b"")


class StrictFormParser(FormParser):
    """DRF parser form of :func:`parse_form`."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return parse_form(stream.read() if stream is not None else b"")


class ChannelListFormParser(FormParser):
    """DRF parser form of :func:`parse_list_form` for ``channel_name`` (batch auth)."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return parse_list_form(stream.read() if stream is not None else b"", "channel_name")
