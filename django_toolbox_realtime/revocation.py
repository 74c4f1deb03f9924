"""Revoking access: close a user's live connections.

A subscription signature never expires while the socket lives, so taking access
away (deactivating a user, removing a role, tightening a policy) must also close
the sockets already open. :func:`revoke_user` asks the server to terminate every
connection of a signed-in user (pusher-js ``signin``); pusher-js then reconnects
only if the page asks again, and every new subscription goes through the policies.

With ``REVOKE_ON_USER_CHANGE = True`` this happens on its own, after the
transaction commits, when a user is deactivated or deleted, or their role drops
(a role attribute change, a superuser flag removed, a role group removed).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from . import server_api
from .conf import SETTINGS_NAME, realtime_settings
from .roles import forget_groups, reload_groups, role_level, user_role
from .validation import validate_user_id

logger = logging.getLogger("django_toolbox_realtime.revocation")

_BEFORE_ATTR = "_toolbox_realtime_before"
_M2M_BEFORE_ATTR = "_toolbox_realtime_m2m_before"


def revoke_user(user: Any) -> dict[str, Any]:
    """Terminate every live connection of ``user`` (a user object or a user id).

    Posts ``/apps/<app_id>/users/<id>/terminate_connections``; the user's sockets
    get ``pusher:error`` 4009 and are closed. Raises RealtimeDeliveryError when the
    server refuses or cannot be reached. Returns the server's answer
    (``{"ok": true}`` on soketi); ``{"sent": False}`` when ``ENABLED`` is False.
    """
    user_id = validate_user_id(str(getattr(user, "pk", user)))
    if not realtime_settings.ENABLED:
        logger.info(
            "%s['ENABLED'] is False: connections of user %s not terminated.", SETTINGS_NAME, user_id
        )
        return {"sent": False}
    answer = server_api.terminate_user_connections(user_id)
    logger.info("Terminated the connections of user %s.", user_id)
    return answer


def _revoke_later(user_id: Any, why: str) -> None:
    def run() -> None:
        try:
            revoke_user(user_id)
        except Exception:  # never break the save that triggered it
            logger.exception("Could not terminate the connections of user %s (%s).", user_id, why)

    transaction.on_commit(run)


def _enabled() -> bool:
    return bool(realtime_settings.REVOKE_ON_USER_CHANGE)


def _standing(user: Any) -> tuple[bool, int | None]:
    reload_groups(user)  # the truth now, not a cached copy
    return bool(getattr(user, "is_active", True)), role_level(user_role(user))


def _lost_access(before: tuple[bool, int | None], after: tuple[bool, int | None]) -> bool:
    was_active, was_level = before
    is_active, level = after
    if was_active and not is_active:
        return True
    return was_level is not None and (level is None or level < was_level)


# Saves that cannot change access (login bookkeeping) skip the extra query.
_HARMLESS_FIELDS = frozenset({"last_login", "password"})


def _before_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw or not _enabled() or instance.pk is None:
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and set(update_fields) <= _HARMLESS_FIELDS:
        return
    old = sender._default_manager.filter(pk=instance.pk).first()
    if old is not None:
        setattr(instance, _BEFORE_ATTR, _standing(old))


def _after_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    before = instance.__dict__.pop(_BEFORE_ATTR, None)
    if raw or before is None or not _enabled():
        return
    if _lost_access(before, _standing(instance)):
        _revoke_later(instance.pk, "deactivated or role lowered")


def _after_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    if _enabled() and instance.pk is not None:
        _revoke_later(instance.pk, "deleted")


def _groups_changed(
    sender: Any,
    instance: Any,
    action: str,
    reverse: bool,
    model: Any,
    pk_set: set[Any] | None,
    **kwargs: Any,
) -> None:
    if not _enabled() or action not in ("pre_remove", "pre_clear", "post_remove", "post_clear"):
        return
    user_model = get_user_model()
    if action.startswith("pre_"):
        if not reverse:  # user.groups.remove(...): one user
            users = [instance]
        elif pk_set is not None:  # group.user_set.remove(...)
            users = list(user_model._default_manager.filter(pk__in=pk_set))
        else:  # group.user_set.clear()
            users = list(user_model._default_manager.filter(groups=instance))
        setattr(instance, _M2M_BEFORE_ATTR, {u.pk: _standing(u) for u in users})
        return
    before = instance.__dict__.pop(_M2M_BEFORE_ATTR, {})
    for user in user_model._default_manager.filter(pk__in=list(before)):
        if _lost_access(before[user.pk], _standing(user)):
            _revoke_later(user.pk, "role group removed")
    if not reverse:
        forget_groups(instance)


def connect_receivers() -> None:
    """Connect the REVOKE_ON_USER_CHANGE receivers (from AppConfig.ready()); they
    read the setting on every call, so it can be switched at run time."""
    user_model = get_user_model()
    pre_save.connect(_before_save, sender=user_model, dispatch_uid="trt_revoke_pre_save")
    post_save.connect(_after_save, sender=user_model, dispatch_uid="trt_revoke_post_save")
    post_delete.connect(_after_delete, sender=user_model, dispatch_uid="trt_revoke_delete")
    groups = getattr(user_model, "groups", None)
    through = getattr(getattr(groups, "through", None), "_meta", None)
    if through is not None:
        m2m_changed.connect(
            _groups_changed,
            sender=groups.through,  # type: ignore[union-attr]
            dispatch_uid="trt_revoke_groups",
        )
