"""``broadcast_bulk``: what ``QuerySet.update()`` and ``bulk_create()`` do not send.

Those write rows without model signals, so the bridge cannot see them. Call
``broadcast_bulk(objects, action)`` after them, in the same transaction: each
object is broadcast as a save would (condition, coalescing, after commit)::

    Submission.objects.filter(quiz=quiz).update(score=0)
    broadcast_bulk(Submission.objects.filter(quiz=quiz), "updated")

    broadcast_bulk(Submission.objects.bulk_create(rows), "created")

For ``"deleted"``, call it *before* ``QuerySet.delete()`` only for rows deleted
without signals (a raw delete): ``delete()`` itself sends the model signals.
``only_when_changed`` does not apply (no previous values to compare).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from ..backends import OutgoingEvent
from ..exceptions import RealtimeConfigurationError
from . import registry
from .emit import plan, run
from .options import ACTIONS
from .switch import broadcasting_enabled


def broadcast_bulk(
    objects: models.QuerySet[Any] | Iterable[models.Model], action: str, *, using: str | None = None
) -> list[OutgoingEvent]:
    """Broadcast ``action`` (``"created"``, ``"updated"`` or ``"deleted"``) for each of
    ``objects`` (a queryset, read once, or instances of registered models). Returns
    the events handed to delivery; nothing while broadcasting is off."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}.")
    if not broadcasting_enabled():
        return []
    if isinstance(objects, models.QuerySet):
        using = using or objects.db
        objects = objects.iterator(chunk_size=500)
    sent: list[OutgoingEvent] = []
    for instance in objects:
        broadcast = registry.get(type(instance))
        if broadcast is None:
            raise RealtimeConfigurationError(
                f"{type(instance)._meta.label} is not registered for broadcasting."
            )
        alias = using or instance._state.db or "default"
        sent += run(plan(broadcast, instance, action, alias), instance, alias)
    return sent
