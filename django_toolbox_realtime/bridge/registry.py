"""Which models broadcast: registrations in code (``@broadcasts.register(Model)`` in
an app's ``realtime.py``) and in settings (``TOOLBOX_REALTIME["MODELS"]``), each a
``ModelBroadcast`` with its receivers connected.

A model is registered once: a second ``register()`` raises, and a settings entry
for a model registered in code is an error of the system check (E045). A code
registration that breaks a rule raises at once; a bad settings entry is not
connected and the system check names it (E040-E047), so the mistake shows at
start-up, not at the first save.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.apps import apps
from django.core.checks import CheckMessage, Error, Warning
from django.db import models
from django.utils.module_loading import autodiscover_modules

from ..conf import on_reload, realtime_settings
from ..exceptions import RealtimeConfigurationError
from . import entries, receivers
from .checks import DUPLICATE, Problem, class_problems
from .options import ModelBroadcast

#: The module looked for in every installed app (the one that holds authorizers).
MODULE_NAME = "realtime"

B = TypeVar("B", bound=type[ModelBroadcast])


class AlreadyRegistered(RealtimeConfigurationError):
    """A model is registered for broadcasting twice."""


_lock = threading.RLock()
_code: dict[type[models.Model], ModelBroadcast] = {}
_code_warnings: dict[type[models.Model], list[Problem]] = {}
_from_settings: dict[type[models.Model], ModelBroadcast] = {}
_settings_problems: list[Problem] = []
_discovered = False


def _model(model: Any) -> type[models.Model]:
    if isinstance(model, str):
        return apps.get_model(model)
    if isinstance(model, type) and issubclass(model, models.Model):
        if model._meta.abstract or model._meta.swapped:
            raise RealtimeConfigurationError(f"{model.__name__} is abstract or swapped out.")
        return model
    raise RealtimeConfigurationError(f"broadcasts.register() takes models, not {model!r}.")


def register(*models_: Any) -> Callable[[B], B]:
    """Class decorator: broadcast ``models_`` (classes or ``"app_label.Model"``) as the
    decorated ``ModelBroadcast`` subclass says. Raises when a rule is broken or a
    model is already registered."""

    def decorator(cls: B) -> B:
        if not (isinstance(cls, type) and issubclass(cls, ModelBroadcast)):
            raise RealtimeConfigurationError(
                "@broadcasts.register() decorates ModelBroadcast subclasses."
            )
        for given in models_:
            model = _model(given)
            name = f"{cls.__module__}.{cls.__qualname__}"
            where = f"broadcasts.register({model._meta.label}) on {name}"
            found = class_problems(cls, model, where)
            errors = [f"{p.message} ({p.id})" for p in found if p.level == "E"]
            if errors:
                raise RealtimeConfigurationError("\n".join(errors))
            with _lock:
                _refuse_duplicate(model, where)
                broadcast = cls(model, name)
                _code[model] = broadcast
                _code_warnings[model] = found
                receivers.connect(broadcast)
        return cls

    if not models_:
        raise RealtimeConfigurationError("broadcasts.register() needs at least one model.")
    return decorator


def _refuse_duplicate(model: type[models.Model], where: str) -> None:
    existing = _code.get(model) or _from_settings.get(model)
    if existing is not None:
        origin = existing.name if model in _code else entries.where(model._meta.label)
        raise AlreadyRegistered(
            f"{where}: {model._meta.label} is already registered for broadcasting by "
            f"{origin} (toolbox_realtime.E045)."
        )


def unregister(model: Any) -> None:
    """Stop broadcasting a model registered in code (for tests); a settings entry
    for it, if any, takes effect."""
    model = _model(model)
    with _lock:
        if _code.pop(model, None) is not None:
            _code_warnings.pop(model, None)
            receivers.disconnect(model)
            load_settings()


def get(model: type[models.Model]) -> ModelBroadcast | None:
    """The registration of ``model`` (not of its subclasses), or None."""
    with _lock:
        return _code.get(model) or _from_settings.get(model)


def registered() -> list[ModelBroadcast]:
    with _lock:
        found = [*_code.values(), *_from_settings.values()]
    return sorted(found, key=lambda broadcast: broadcast.label)


def load_settings() -> None:
    """(Re)build the settings entries and their receivers from the current settings."""
    global _settings_problems
    if not apps.models_ready:
        return  # AppConfig.ready() loads them
    with _lock:
        for model in _from_settings:
            receivers.disconnect(model)
        _from_settings.clear()
        try:
            value = realtime_settings.MODELS
        except RealtimeConfigurationError:  # a malformed URL: its own check says so
            value = None
        problems = entries.shape_problems(value)
        for label, entry in (value or {}).items() if not problems else ():
            problems += _load_entry(label, entry)
        _settings_problems = problems


def _load_entry(label: Any, entry: Any) -> list[Problem]:
    model, cls, found = entries.build(label, entry)
    if model is None or cls is None:
        return found
    if model in _code or model in _from_settings:
        by = _code[model].name if model in _code else "another entry"
        message = f"{entries.where(label)}: {model._meta.label} is already registered by {by}."
        return [*found, Problem(DUPLICATE, message)]
    broadcast = cls(model, entries.where(label))
    _from_settings[model] = broadcast
    receivers.connect(broadcast)
    return found


def problems() -> list[Problem]:
    """What the system check reports: bad settings entries, and the warnings of
    every registration."""
    with _lock:
        warnings = [p for found in _code_warnings.values() for p in found]
        return [*_settings_problems, *warnings]


def check_messages() -> list[CheckMessage]:
    """:func:`problems` as system check messages (``checks.check_broadcasts``)."""
    return [(Error if p.level == "E" else Warning)(p.message, id=p.id) for p in problems()]


def autodiscover() -> None:
    """Import ``<app>.realtime`` of every installed app (registering what it
    registers), then the settings entries. Called by ``AppConfig.ready()``, once."""
    global _discovered
    with _lock:
        if _discovered:
            return
        _discovered = True
        autodiscover_modules(MODULE_NAME)
        load_settings()


@on_reload
def _settings_changed() -> None:
    if _discovered:
        load_settings()
