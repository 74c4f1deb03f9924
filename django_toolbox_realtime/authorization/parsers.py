"""Strict parsers for the auth endpoints' bodies: a repeated key or field is an
error, never last-wins (two ``channel_name`` values must not let a proxy and the
view read different channels), and JSON NaN/Infinity are refused.

The functions parse raw bytes; the DRF parser classes wrap them for the CSRF
check of session logins, which reads ``request.POST`` before the view runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from rest_framework import exceptions as drf_exceptions
from rest_framework.parsers import FormParser, JSONParser


def _unique(pairs: Iterable[tuple[str, Any]], label: str) -> dict[str, Any]:
    """``pairs`` as a dict; a repeated key is a ParseError, not last-wins."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise drf_exceptions.ParseError(f"{label} {key[:40]!r} appears twice.")
        result[key] = value
    return result


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return _unique(pairs, "JSON key")


def _json_constant(name: str) -> Any:
    raise drf_exceptions.ParseError(f"JSON {name} is not allowed.")


def parse_strict_json(raw: bytes) -> dict[str, Any]:
    """A JSON object; repeated keys and NaN/Infinity are errors, not last-wins."""
    try:
        data = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_json_object, parse_constant=_json_constant
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise drf_exceptions.ParseError("Malformed JSON body.") from exc
    if not isinstance(data, dict):
        raise drf_exceptions.ParseError("The JSON body must be an object.")
    return data


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
