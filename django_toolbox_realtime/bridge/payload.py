"""What an event carries: the fields of an instance, a serializer's data, or the
thin event; and the payload budget.

The default payload is the primary key and every concrete field, except fields
named like a secret (``password``, ``token``, ``secret``, ``api_key``, ...: a
case-insensitive substring match) and binary ones. Foreign keys give the related
object's primary key, under the field's name, as ``django.core.serializers`` do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models

from ..validation import MAX_PAYLOAD_BYTES
from .templates import field_for

#: Substrings of field names that are never in a default payload.
SECRET_LIKE = (
    "password",
    "passwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "private_key",
    "access_key",
    "credential",
    "session_key",
)
#: Room left for the ``"_rt"`` key the outbox adds to an object payload when it
#: sends it (about 80 bytes): the bridge measures against this budget.
ENVELOPE_ROOM = 100
PAYLOAD_BUDGET = MAX_PAYLOAD_BYTES - ENVELOPE_ROOM
#: Keys of the thin event, sent instead of a payload over the budget.
THIN_KEYS = ("model", "pk", "id", "action", "thin")

# Worst-case bytes of one JSON value, per field class: a character can take 6
# bytes (``\u001f``), numbers and dates have a bounded length.
_FIXED_SIZES: tuple[tuple[type[models.Field[Any, Any]], int], ...] = (
    (models.BooleanField, 5),
    (models.BigIntegerField, 20),
    (models.IntegerField, 20),
    (models.AutoField, 20),
    (models.FloatField, 25),
    (models.DateTimeField, 40),
    (models.DateField, 12),
    (models.TimeField, 20),
    (models.DurationField, 30),
    (models.UUIDField, 38),
)


def is_secret_like(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in SECRET_LIKE)


def default_fields(model: type[models.Model]) -> list[str]:
    """The field names of the default payload of ``model``."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if not is_secret_like(field.name)
        and not is_secret_like(field.attname)
        and not isinstance(field, models.BinaryField)
    ]


def field_value(instance: models.Model, name: str) -> Any:
    field = field_for(type(instance), name)
    if name == "pk" or field is None:
        return instance.pk
    value = getattr(instance, field.attname)
    if isinstance(field, models.FileField):  # a FieldFile: its stored name
        return (value.name or None) if value is not None else None
    return value


def from_fields(instance: models.Model, names: Iterable[str]) -> dict[str, Any]:
    return {name: field_value(instance, name) for name in names}


def from_serializer(serializer_class: Any, instance: models.Model) -> Any:
    """``serializer_class(instance).data``: a Django REST framework serializer."""
    return serializer_class(instance).data


def thin_event(instance: models.Model, action: str) -> dict[str, Any]:
    """What clients get instead of a payload over the budget: enough to refetch.
    ``id`` repeats the primary key, so client code reading ``data.id`` of a full
    payload also works on a thin one; ``thin`` tells the two apart."""
    meta = instance._meta
    return {
        "model": meta.label_lower,
        "pk": instance.pk,
        "id": instance.pk,
        "action": action,
        "thin": True,
    }


def utf8_size(encoded: str) -> int:
    return len(encoded.encode("utf-8"))


def _field_bound(field: models.Field[Any, Any]) -> int | None:
    if field.is_relation:
        target = field.target_field  # type: ignore[attr-defined]
        return _field_bound(target) if target is not None else None
    for cls, size in _FIXED_SIZES:
        if isinstance(field, cls):
            return size + (6 if field.null else 0)
    if isinstance(field, models.DecimalField):
        return (field.max_digits or 40) + 4
    if isinstance(field, models.CharField) and field.max_length:
        return field.max_length * 6 + 2
    return None  # TextField, JSONField, FileField...: known only when saved


def max_size(model: type[models.Model], names: Sequence[str]) -> int | None:
    """The most bytes a field payload of ``names`` can take, or None when a field is
    unbounded (then only a save can tell)."""
    total = 2  # {}
    for name in names:
        field = field_for(model, name)
        if field is None:
            if name != "pk":
                return None
            field = model._meta.pk
            assert field is not None
        bound = _field_bound(field)
        if bound is None:
            return None
        total += len(name.encode()) + 4 + bound  # "name": value,
    return total
