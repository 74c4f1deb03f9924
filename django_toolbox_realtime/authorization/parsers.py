"""Strict parsers for the auth endpoints' bodies: a repeated key or field is an
error, never last-wins (two ``channel_name`` values must not let a proxy and the
view read different channels); for JSON, also NaN/Infinity and nesting deeper
than ``bodies.MAX_JSON_DEPTH`` (the rules shared with the webhook, in
:mod:`django_toolbox_realtime.bodies`).

The functions parse raw bytes and raise DRF's ``ParseError`` (a 400); the DRF
parser classes wrap them for the CSRF check of session logins, which reads
``request.POST`` before the view runs.
"""

from __future__ import annotations

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


def parse_form(raw: bytes) -> dict[str, str]:
    """An urlencoded body; a repeated field is an error, not last-wins."""
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except UnicodeDecodeError as exc:
        raise drf_exceptions.ParseError("The form is not UTF-8.") from exc
    except ValueError as exc:  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
        raise drf_exceptions.ParseError("Too many form fields.") from exc
    return _unique(pairs, "Field")


class StrictJSONParser(JSONParser):
    """DRF parser form of :func:`parse_strict_json`."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return parse_strict_json(stream.read() if stream is not None else b"")


class StrictFormParser(FormParser):
    """DRF parser form of :func:`parse_form`."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return parse_form(stream.read() if stream is not None else b"")
