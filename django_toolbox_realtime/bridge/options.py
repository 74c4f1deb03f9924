"""``ModelBroadcast``: what a registered model sends, where, and when.

Subclass it and register it for a model (``@broadcasts.register(Submission)``), or
describe the same options in ``TOOLBOX_REALTIME["MODELS"]``. Options are class
attributes; the ``get_*`` methods and ``condition`` are the hooks the bridge calls,
so a subclass can compute anything an option cannot express. docs/broadcasting.md
lists every option and its default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from django.db import models

from ..conf import realtime_settings
from ..validation import validate_user_id
from . import payload
from .templates import Template, field_for, parse, placeholder_value, render

CREATED, UPDATED, DELETED = "created", "updated", "deleted"
ACTIONS = (CREATED, UPDATED, DELETED)
THIN, ERROR = "thin", "error"
OVERSIZE_CHOICES = (THIN, ERROR)


def default_channel(model: type[models.Model]) -> str:
    """``private-<app_label>.<model>``: private, so nobody may subscribe until a
    policy or an authorizer says who may (nothing leaks by default)."""
    return f"private-{model._meta.label_lower}"


def default_event(model: type[models.Model], action: str) -> str:
    """``<model>.created``, ``<model>.updated``, ``<model>.deleted``."""
    return f"{model._meta.model_name}.{action}"


class ModelBroadcast:
    """Broadcast the saves and deletes of one model. Every option has a default:
    an empty subclass sends ``<model>.<action>`` with the default payload on
    ``private-<app_label>.<model>``."""

    #: Channel name templates over the instance (``"private-classroom-{classroom_id}"``),
    #: or a method ``channels(self, instance, action)`` returning names. None: the
    #: default channel; ``[]``: none (only ``to_user``).
    channels: Any = None
    #: Event name (template) per action; a missing action has its default name,
    #: None sends nothing for that action.
    events: ClassVar[Mapping[str, str | None]] = {}
    #: The payload: the listed fields, or a DRF serializer class (``Serializer(obj).data``).
    #: Neither: the primary key and the concrete fields, without secret-like ones.
    fields: ClassVar[Sequence[str] | None] = None
    serializer: Any = None
    #: The user(s) to tell through ``send_to_user``: a field (a foreign key to the user
    #: or a user id) or a method ``to_user(self, instance)`` returning an id or ids.
    to_user: Any = None
    #: For the ``to_user`` events: event names (default: ``events``) and payload
    #: (default: the channels' payload).
    user_events: ClassVar[Mapping[str, str | None] | None] = None
    user_fields: ClassVar[Sequence[str] | None] = None
    user_serializer: Any = None
    #: Updates send only when one of these fields changed (``update_fields``, or the
    #: previous values read before a plain ``save()``). Creates and deletes always send.
    only_when_changed: ClassVar[Sequence[str]] = ()
    #: A payload over the budget: ``"thin"`` (the thin event) or ``"error"`` (raise).
    oversize: ClassVar[str] = THIN
    #: Several saves of one object in one transaction send one event (the final
    #: state). None: ``TOOLBOX_REALTIME["COALESCE"]``.
    coalesce: ClassVar[bool | None] = None

    def __init__(self, model: type[models.Model], name: str = "") -> None:
        self.model = model
        self.label = model._meta.label_lower
        self.name = name or f"{type(self).__module__}.{type(self).__qualname__}"
        self._channels = self._templates(self.channels, [default_channel(model)])
        self._events = {a: self._event_template(self.events, a) for a in ACTIONS}
        user_events = {**self.events, **(self.user_events or {})}
        self._user_events = {a: self._event_template(user_events, a) for a in ACTIONS}
        self._fields = list(self.fields) if self.fields is not None else None
        self._default_fields = payload.default_fields(model)

    def _templates(self, value: Any, default: list[str]) -> list[Template] | None:
        if callable(value):
            return None
        return [parse(source) for source in (default if value is None else value)]

    def _event_template(self, events: Mapping[str, str | None], action: str) -> Template | None:
        name = events.get(action, default_event(self.model, action))
        return parse(name) if name is not None else None

    def __repr__(self) -> str:
        return f"<{self.name} for {self.model._meta.label}>"

    # --- hooks -------------------------------------------------------------------
    def condition(self, instance: Any, action: str) -> bool:
        """Whether to broadcast this action of this instance (its final state)."""
        return True

    def get_channels(self, instance: Any, action: str) -> list[str]:
        if self._channels is None:
            return list(self.channels(instance, action))
        names = (render(template, instance) for template in self._channels)
        return [name for name in names if name is not None]

    def get_event_name(self, instance: Any, action: str) -> str | None:
        template = self._events[action]
        return render(template, instance) if template is not None else None

    def get_payload(self, instance: Any, action: str, channel: str | None) -> Any:
        """The data sent on ``channel`` (``None``: the default for every channel)."""
        return self._data(instance, self.serializer, self._fields)

    def get_user_ids(self, instance: Any, action: str) -> list[str]:
        if self.to_user is None:
            return []
        if callable(self.to_user):
            found = self.to_user(instance)
        else:
            found = placeholder_value(instance, self.to_user)
        values: Iterable[Any] = (
            found if isinstance(found, Iterable) and not isinstance(found, str) else [found]
        )
        ids = [validate_user_id(value) for value in values if value is not None]
        return list(dict.fromkeys(ids))

    def get_user_event_name(self, instance: Any, action: str) -> str | None:
        template = self._user_events[action]
        return render(template, instance) if template is not None else None

    def get_user_payload(self, instance: Any, action: str) -> Any:
        if self.user_serializer is None and self.user_fields is None:
            return self.get_payload(instance, action, None)
        return self._data(instance, self.user_serializer, self.user_fields)

    # --- the bridge's questions -------------------------------------------------
    def should_coalesce(self) -> bool:
        return bool(realtime_settings.COALESCE if self.coalesce is None else self.coalesce)

    def watched_fields(self) -> list[models.Field[Any, Any]]:
        found = (field_for(self.model, name) for name in self.only_when_changed)
        return [field for field in found if field is not None]

    def changed(
        self,
        instance: Any,
        update_fields: Iterable[str] | None,
        previous: Mapping[str, Any] | None,
    ) -> bool:
        """Whether an update touched ``only_when_changed`` (always, without it)."""
        watched = self.watched_fields()
        if not watched:
            return True
        if update_fields is not None:
            given = set(update_fields)
            return any(given & {field.name, field.attname} for field in watched)
        if previous is None:  # not read (no row yet): treat as changed
            return True
        return any(previous.get(f.attname) != getattr(instance, f.attname) for f in watched)

    def _data(self, instance: Any, serializer: Any, fields: Sequence[str] | None) -> Any:
        if serializer is not None:
            return payload.from_serializer(serializer, instance)
        return payload.from_fields(instance, self._default_fields if fields is None else fields)
