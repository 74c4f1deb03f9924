"""The rules of a registration, one copy: ``register()`` refuses a class that
breaks them, and the system check reports settings entries that do (ids
``toolbox_realtime.E040``... and ``W040``, see docs/broadcasting.md).

Each problem names the registration (``where``) and the option.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models

from ..exceptions import RealtimeValidationError
from ..validation import (
    SERVER_TO_USER_PREFIX,
    validate_channel_name,
    validate_event_name,
)
from . import payload
from .options import ACTIONS, OVERSIZE_CHOICES, ModelBroadcast
from .templates import TemplateError, field_for, parse, unknown_placeholders

# Check numbers (toolbox_realtime.E0nn / W0nn).
SHAPE, UNKNOWN_MODEL, UNKNOWN_FIELD, PLACEHOLDER, INVALID_NAME = 40, 41, 42, 43, 44
DUPLICATE, BAD_VALUE, SECRET_FIELD = 45, 46, 47
OVER_BUDGET = 40  # W040


@dataclass(frozen=True)
class Problem:
    number: int
    message: str
    level: str = "E"  # "E" error, "W" warning

    @property
    def id(self) -> str:
        return f"toolbox_realtime.{self.level}{self.number:03d}"


def class_problems(
    cls: type[ModelBroadcast], model: type[models.Model], where: str
) -> list[Problem]:
    """Every problem of ``cls`` registered for ``model``."""
    found = _value_problems(cls, where)
    for option in ("fields", "user_fields"):
        found += _field_list_problems(model, getattr(cls, option), where, option, secret=True)
    found += _field_list_problems(model, cls.only_when_changed, where, "only_when_changed")
    to_user = cls.to_user
    if isinstance(to_user, str) and to_user != "pk" and field_for(model, to_user) is None:
        found.append(_unknown_field(model, where, "to_user", to_user))
    elif to_user is not None and not isinstance(to_user, str) and not callable(to_user):
        found.append(Problem(BAD_VALUE, f"{where}: to_user must be a field name or a function."))
    if not callable(cls.channels):
        found += _channel_problems(model, cls.channels, where)
    for option in ("events", "user_events"):
        found += _event_problems(model, getattr(cls, option), where, option)
    if not any(p.level == "E" for p in found):
        found += _budget_problems(cls, model, where)
    return found


def _value_problems(cls: type[ModelBroadcast], where: str) -> list[Problem]:
    found = []
    if cls.oversize not in OVERSIZE_CHOICES:
        found.append(
            Problem(
                BAD_VALUE, f"{where}: oversize must be 'thin' or 'error', not {cls.oversize!r}."
            )
        )
    if cls.coalesce not in (None, True, False):
        found.append(Problem(BAD_VALUE, f"{where}: coalesce must be True, False or None."))
    for fields, serializer in (("fields", "serializer"), ("user_fields", "user_serializer")):
        if getattr(cls, fields) is not None and getattr(cls, serializer) is not None:
            found.append(Problem(BAD_VALUE, f"{where}: give {fields} or {serializer}, not both."))
        value = getattr(cls, serializer)
        if value is not None and not isinstance(value, type):
            found.append(Problem(BAD_VALUE, f"{where}: {serializer} must be a serializer class."))
    return found


def _unknown_field(model: type[models.Model], where: str, option: str, name: Any) -> Problem:
    return Problem(
        UNKNOWN_FIELD,
        f"{where}: {option} names {name!r}, which is not a field of {model._meta.label}.",
    )


def _field_list_problems(
    model: type[models.Model], names: Any, where: str, option: str, secret: bool = False
) -> list[Problem]:
    if names is None:
        return []
    if isinstance(names, str) or not isinstance(names, list | tuple):
        return [Problem(BAD_VALUE, f"{where}: {option} must be a list of field names.")]
    found = []
    for name in names:
        if not isinstance(name, str) or (name != "pk" and field_for(model, name) is None):
            found.append(_unknown_field(model, where, option, name))
        elif secret and payload.is_secret_like(name):
            found.append(
                Problem(
                    SECRET_FIELD,
                    f"{where}: {option} lists {name!r}, a secret-like field; payloads never "
                    "carry those. Send it, if you must, through a serializer.",
                )
            )
    return found


def _template_problems(
    model: type[models.Model], source: Any, where: str, option: str, validate: Any
) -> list[Problem]:
    try:
        template = parse(source)
    except TemplateError as exc:
        return [Problem(PLACEHOLDER, f"{where}: {option}: {exc}.")]
    unknown = unknown_placeholders(template, model)
    if unknown:
        return [
            Problem(
                PLACEHOLDER,
                f"{where}: {option} {source!r}: placeholder {{{unknown[0]}}} is not a field "
                f"of {model._meta.label}.",
            )
        ]
    try:
        validate(template.sample)
    except RealtimeValidationError as exc:
        return [Problem(INVALID_NAME, f"{where}: {option} {source!r} gives invalid names: {exc}")]
    return []


def _channel_problems(model: type[models.Model], channels: Any, where: str) -> list[Problem]:
    if channels is None:
        return []
    if isinstance(channels, str) or not isinstance(channels, list | tuple):
        return [Problem(BAD_VALUE, f"{where}: channels must be a list of templates or a method.")]
    found = []
    for source in channels:
        if isinstance(source, str) and source.startswith(SERVER_TO_USER_PREFIX):
            found.append(
                Problem(INVALID_NAME, f"{where}: channels {source!r}: use to_user for users.")
            )
            continue
        found += _template_problems(model, source, where, "channels", validate_channel_name)
    return found


def _event_problems(
    model: type[models.Model], events: Any, where: str, option: str
) -> list[Problem]:
    if events is None:
        return []
    if not isinstance(events, Mapping):
        return [Problem(BAD_VALUE, f"{where}: {option} must map actions to event names.")]
    found = []
    for action, name in events.items():
        if action not in ACTIONS:
            found.append(
                Problem(
                    BAD_VALUE,
                    f"{where}: {option} has {action!r}; actions are {', '.join(ACTIONS)}.",
                )
            )
        elif name is not None:
            found += _template_problems(model, name, where, option, validate_event_name)
    return found


def _budget_problems(
    cls: type[ModelBroadcast], model: type[models.Model], where: str
) -> list[Problem]:
    """W040 when field payloads can be larger than the budget (known from the
    fields' sizes; TextField, JSONField and serializers are known only when saved)."""
    found = []
    for option, fields, serializer in (
        ("fields", cls.fields, cls.serializer),
        ("user_fields", cls.user_fields, cls.user_serializer),
    ):
        if serializer is not None or (option == "user_fields" and fields is None):
            continue
        names = list(fields) if fields is not None else payload.default_fields(model)
        bound = payload.max_size(model, names)
        if bound is not None and bound > payload.PAYLOAD_BUDGET:
            outcome = "a thin event" if cls.oversize == "thin" else "an error at save time"
            found.append(
                Problem(
                    OVER_BUDGET,
                    f"{where}: the payload of {option} can reach {bound:,} bytes, over the "
                    f"budget of {payload.PAYLOAD_BUDGET:,}: a large row gives {outcome}.",
                    "W",
                )
            )
    return found
