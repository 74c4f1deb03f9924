"""An autocommit ``save()`` of a registered model commits its row and its outbox row
together.

Django runs a plain ``save()`` outside any transaction (in autocommit) and sends
``post_save`` after the row has committed; the bridge writes the outbox row from
``post_save``, so without help a crash between the two statements would keep the
change and lose its event. At registration the bridge therefore wraps the model's
``save_base`` (the row write and its signals, nothing of a ``save()`` override
around ``super().save()``) in ``transaction.atomic(using=..., savepoint=False)``,
only when all of these hold at the time of the save:

* the connection of the save's database (``using=`` or the router's) is in
  autocommit, not inside ``atomic()``: inside one nothing changes (no savepoint
  is added: the outbox row already shares the caller's transaction);
* the instance is of the registered class itself (not a subclass or proxy, whose
  signals the registration does not receive);
* it is not a raw save (fixtures: the bridge skips them; ``loaddata`` calls
  ``Model.save_base`` directly and runs in its own transaction anyway);
* broadcasting is on (``ENABLED``, ``BROADCAST_ENABLED``, no
  ``without_broadcasting()``) and ``DELIVERY`` is ``"outbox"`` (immediate mode
  writes no row).

One consequence, the same as with ``ATOMIC_REQUESTS``: other ``pre_save`` and
``post_save`` receivers of that model run inside the transaction, so one that
raises rolls the save back instead of leaving the row committed.

Deletes need nothing: Django's ``Collector.delete()`` already runs the rows and
the delete signals (where the bridge writes) in ``atomic(savepoint=False)``.
``unregister`` removes the wrapper (``uninstall``).
"""

from __future__ import annotations

from typing import Any

from django.db import connections, router, transaction

from ..conf import realtime_settings
from ..delivery import options
from .switch import broadcasting_enabled

#: Marks our wrapper on a model class (and keeps what it replaced).
_WRAPPED = "_toolbox_realtime_atomic_save"
_MISSING = object()


def _needs_transaction(instance: Any, model: Any, raw: bool, using: str | None) -> str | None:
    """The alias to open a transaction on, or None when the save runs as it is."""
    if raw or type(instance) is not model:
        return None
    if not (realtime_settings.ENABLED and realtime_settings.DELIVERY == options.OUTBOX):
        return None
    if not broadcasting_enabled():
        return None
    alias = using or router.db_for_write(model, instance=instance) or "default"
    connection = connections[alias]
    if connection.in_atomic_block or not connection.get_autocommit():
        return None
    return alias


def install(model: Any) -> None:
    """Wrap ``model.save_base`` (once)."""
    if _WRAPPED in model.__dict__:
        return
    own = model.__dict__.get("save_base", _MISSING)
    inner = model.save_base

    def save_base(self: Any, *args: Any, **kwargs: Any) -> Any:
        raw = bool(kwargs.get("raw", args[0] if args else False))
        using = kwargs.get("using", args[3] if len(args) > 3 else None)
        alias = _needs_transaction(self, model, raw, using)
        if alias is None:
            return inner(self, *args, **kwargs)
        with transaction.atomic(using=alias, savepoint=False):
            return inner(self, *args, **kwargs)

    save_base.__wrapped__ = inner  # type: ignore[attr-defined]
    save_base.__doc__ = inner.__doc__
    model.save_base = save_base
    setattr(model, _WRAPPED, own)


def uninstall(model: Any) -> None:
    """Put back what :func:`install` replaced."""
    if _WRAPPED not in model.__dict__:
        return
    own = model.__dict__[_WRAPPED]
    delattr(model, _WRAPPED)
    if own is _MISSING:
        del model.save_base
    else:
        model.save_base = own
