"""The model signals of registered models: one set of receivers per model
(``sender=model``, a ``dispatch_uid`` per model, ``weak=False``).

* ``pre_save`` (only for models with ``only_when_changed``, and only for a plain
  ``save()`` of an existing row): one query reads the watched fields' previous values.
* ``post_save``: ``created`` or ``updated``; fixtures (``raw=True``) are skipped.
* ``pre_delete`` builds the ``deleted`` events while the row (and what a cascade
  deletes with it) still exists; ``post_delete`` hands them to delivery.

``QuerySet.update()`` and ``bulk_create()`` send no signals: see ``bulk.py``.
Connecting also wraps the model's ``save_base`` so that an autocommit save commits
its row and its outbox row together (``atomic_save``); disconnecting unwraps it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import signals

from . import atomic_save
from .emit import plan, run
from .options import CREATED, DELETED, UPDATED, ModelBroadcast
from .switch import broadcasting_enabled

_PREVIOUS_ATTR = "_toolbox_realtime_previous"
_DELETE_PLAN_ATTR = "_toolbox_realtime_delete_plan"
_SIGNALS = ("pre_save", "post_save", "pre_delete", "post_delete")


def dispatch_uid(model: Any, signal: str) -> str:
    return f"toolbox_realtime.bridge.{model._meta.label_lower}.{signal}"


class Receivers:
    """The receivers of one registration."""

    def __init__(self, broadcast: ModelBroadcast) -> None:
        self.broadcast = broadcast

    def pre_save(self, sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
        instance.__dict__.pop(_PREVIOUS_ATTR, None)
        if raw or kwargs.get("update_fields") is not None or not broadcasting_enabled():
            return
        if instance._state.adding or instance.pk is None:
            return
        names = [field.attname for field in self.broadcast.watched_fields()]
        manager = sender._base_manager.using(kwargs.get("using"))
        previous = manager.filter(pk=instance.pk).values(*names).first()
        instance.__dict__[_PREVIOUS_ATTR] = previous

    def post_save(
        self, sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
    ) -> None:
        previous = instance.__dict__.pop(_PREVIOUS_ATTR, None)
        if raw or not broadcasting_enabled():
            return
        using = kwargs.get("using") or "default"
        changed = created or self.broadcast.changed(instance, kwargs.get("update_fields"), previous)
        action = CREATED if created else UPDATED
        run(plan(self.broadcast, instance, action, using, changed), instance, using)

    def pre_delete(self, sender: Any, instance: Any, **kwargs: Any) -> None:
        instance.__dict__.pop(_DELETE_PLAN_ATTR, None)
        if broadcasting_enabled():
            using = kwargs.get("using") or "default"
            instance.__dict__[_DELETE_PLAN_ATTR] = plan(self.broadcast, instance, DELETED, using)

    def post_delete(self, sender: Any, instance: Any, **kwargs: Any) -> None:
        if _DELETE_PLAN_ATTR in instance.__dict__:
            found = instance.__dict__.pop(_DELETE_PLAN_ATTR)
            run(found, instance, kwargs.get("using") or "default")


def connect(broadcast: ModelBroadcast) -> None:
    model = broadcast.model
    receivers = Receivers(broadcast)
    for name in _SIGNALS:
        if name == "pre_save" and not broadcast.watched_fields():
            continue
        getattr(signals, name).connect(
            getattr(receivers, name),
            sender=model,
            weak=False,
            dispatch_uid=dispatch_uid(model, name),
        )
    atomic_save.install(model)


def disconnect(model: Any) -> None:
    atomic_save.uninstall(model)
    for name in _SIGNALS:
        getattr(signals, name).disconnect(sender=model, dispatch_uid=dispatch_uid(model, name))
