"""Settings entries: ``TOOLBOX_REALTIME["MODELS"]`` built into ``ModelBroadcast``
subclasses, the same objects ``register()`` makes from code.

An entry takes the options of the class, as data: lists, dicts, strings; a
function (``condition``, a ``channels`` or ``to_user`` function) and a serializer
are given by dotted path::

    "MODELS": {
        "classroom.Submission": {
            "channels": ["private-classroom-{classroom_id}"],
            "events": {"created": "submission.new", "deleted": None},
            "fields": ["id", "score"],
            "to_user": "student",                 # a field, or "path.to.function"
            "condition": "myapp.rules.is_graded",  # function(instance, action)
        },
    }
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models
from django.utils.module_loading import import_string

from ..conf import SETTINGS_NAME
from .checks import BAD_VALUE, SHAPE, UNKNOWN_MODEL, Problem, class_problems
from .options import ModelBroadcast

#: The options an entry may give (the class attributes of ModelBroadcast).
OPTIONS = frozenset(
    {
        "channels",
        "events",
        "fields",
        "serializer",
        "to_user",
        "user_events",
        "user_fields",
        "user_serializer",
        "only_when_changed",
        "oversize",
        "coalesce",
        "condition",
    }
)
# Options that may be a dotted path: to a function, or to a serializer class.
_FUNCTIONS = frozenset({"condition", "channels", "to_user"})
_CLASSES = frozenset({"serializer", "user_serializer"})
Built = tuple[type[models.Model] | None, type[ModelBroadcast] | None, list[Problem]]


def where(label: Any) -> str:
    return f"{SETTINGS_NAME}['MODELS'][{label!r}]"


def _is_path(option: str, value: Any) -> bool:
    """A dotted path to import; ``to_user`` without a dot is a field name."""
    if not isinstance(value, str) or option not in _FUNCTIONS | _CLASSES:
        return False
    return option != "to_user" or "." in value


def _option_value(option: str, value: Any, here: str) -> tuple[Any, list[Problem]]:
    if _is_path(option, value):
        try:
            value = import_string(value)
        except ImportError as exc:
            hint = " (templates are written as a list)" if option == "channels" else ""
            message = f"{here}: {option} {value!r} cannot be imported: {exc}{hint}"
            return None, [Problem(BAD_VALUE, message)]
    if option in _FUNCTIONS and callable(value):
        return staticmethod(value), []  # called as self.<option>(...) without self
    if option == "condition":
        message = f"{here}: condition must be a dotted path to a function(instance, action)."
        return None, [Problem(BAD_VALUE, message)]
    return value, []  # class_problems() judges the rest


def _attributes(entry: dict[str, Any], here: str) -> tuple[dict[str, Any], list[Problem]]:
    attrs: dict[str, Any] = {}
    found: list[Problem] = []
    for option, raw in entry.items():
        value, problems = _option_value(option, raw, here)
        found += problems
        attrs[option] = value
    return attrs, found


def _refused(number: int, message: str) -> Built:
    return None, None, [Problem(number, message)]


def build(label: Any, entry: Any) -> Built:
    """The model and the ModelBroadcast subclass of one entry, or the problems that
    keep it from being registered (warnings come with a class)."""
    here = where(label)
    if not isinstance(entry, dict):
        return _refused(SHAPE, f"{here} must be a dict of options.")
    unknown = sorted(set(entry) - OPTIONS)
    if unknown:
        options = ", ".join(sorted(OPTIONS))
        return _refused(SHAPE, f"{here}: unknown option {unknown[0]!r}; the options are {options}.")
    try:
        model = apps.get_model(str(label))
    except (LookupError, ValueError):
        return _refused(UNKNOWN_MODEL, f"{here}: no such model (use 'app_label.ModelName').")
    attrs, found = _attributes(entry, here)
    if found:
        return model, None, found
    cls = type(f"{model.__name__}SettingsBroadcast", (ModelBroadcast,), attrs)
    cls.__module__ = __name__
    found = class_problems(cls, model, here)
    if any(problem.level == "E" for problem in found):
        return model, None, found
    return model, cls, found


def shape_problems(value: Any) -> list[Problem]:
    if value is None or isinstance(value, dict):
        return []
    message = f"{SETTINGS_NAME}['MODELS'] must be a dict {{'app_label.Model': {{...}}}}."
    return [Problem(SHAPE, message)]
