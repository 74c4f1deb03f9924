"""django-toolbox-realtime: real-time features for Django over the Pusher Channels protocol.

The public API is imported lazily so that ``import django_toolbox_realtime``
works before Django's settings are configured::

    from django_toolbox_realtime import trigger_event, trigger_batch, send_to_user

Everything named in ``__all__`` is public and documented; every other module is
internal (see the README's "Development" section for the map of the package).

* Delivery: ``trigger_event``, ``trigger_batch``, ``send_to_user`` (and their
  async twins), ``user_channel``, ``revoke_user``, ``including_sender`` (turn off
  the ``X-Socket-ID`` sender exclusion for a block).
* Authorization: ``decide`` (may this user subscribe, and why), ``has_role``,
  ``user_role``, ``bump_policy_version``, ``authenticate_channel`` /
  ``authenticate_user`` (sign after your own decision), and the ``authorizers``
  module (``@authorizers.channel(...)`` in an app's ``realtime.py``).
* Model broadcasting: the ``broadcasts`` module (``@broadcasts.register(Model)`` on a
  ``broadcasts.ModelBroadcast`` in an app's ``realtime.py``, ``without_broadcasting``,
  ``broadcast_bulk``): saves and deletes become events after commit.
* Live state: ``online_users``, ``active_channels``, ``connected_user_count``.
* Errors: ``RealtimeError`` and its subclasses.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# name -> (module, attribute); attribute None: the module itself.
_LAZY: dict[str, tuple[str, str | None]] = {
    "trigger_event": ("delivery.api", "trigger_event"),
    "trigger_batch": ("delivery.api", "trigger_batch"),
    "send_to_user": ("delivery.api", "send_to_user"),
    "atrigger_event": ("delivery.api", "atrigger_event"),
    "atrigger_batch": ("delivery.api", "atrigger_batch"),
    "asend_to_user": ("delivery.api", "asend_to_user"),
    "user_channel": ("delivery.api", "user_channel"),
    "revoke_user": ("delivery.revocation", "revoke_user"),
    "including_sender": ("delivery.socket_context", "including_sender"),
    "decide": ("authorization.policies", "decide"),
    "has_role": ("authorization.roles", "has_role"),
    "user_role": ("authorization.roles", "user_role"),
    "bump_policy_version": ("authorization.matcher", "bump_policy_version"),
    "authenticate_channel": ("authorization.signing", "authenticate_channel"),
    "authenticate_user": ("authorization.signing", "authenticate_user"),
    "authorizers": ("authorization.authorizers", None),
    "broadcasts": ("bridge.broadcasts", None),
    "online_users": ("state.reading", "online_users"),
    "active_channels": ("state.reading", "active_channels"),
    "connected_user_count": ("state.reading", "connected_user_count"),
    "RealtimeError": ("exceptions", "RealtimeError"),
    "RealtimeConfigurationError": ("exceptions", "RealtimeConfigurationError"),
    "RealtimeValidationError": ("exceptions", "RealtimeValidationError"),
    "RealtimeDeliveryError": ("exceptions", "RealtimeDeliveryError"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = target
    loaded = import_module(f"{__name__}.{module}")
    return loaded if attribute is None else getattr(loaded, attribute)


def __dir__() -> list[str]:
    return sorted(__all__)
