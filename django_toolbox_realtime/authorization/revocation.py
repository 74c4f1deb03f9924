"""Noticing that a user lost access, for ``REVOKE_ON_USER_CHANGE``.

A subscription signature never expires while the socket lives, so taking access
away must also close the sockets already open. With ``REVOKE_ON_USER_CHANGE =
True`` the receivers here compare a user's standing (active, role level) before
and after a save, a delete or a group removal, and when it dropped they send
``signals.access_lost`` after the transaction commits. Terminating the
connections is the way out's job (``delivery.revocation.revoke_user``, which
receives that signal): authorization never talks to the server.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from .. import signals
from ..conf import realtime_settings
from .groups import forget_groups, reload_groups
from .roles import role_level, user_role

logger = logging.getLogger("django_toolbox_realtime.revocation")

_BEFORE_ATTR = "_toolbox_realtime_before"
_M2M_BEFORE_ATTR = "_toolbox_realtime_m2m_before"


def _revoke_later(user_id: Any, why: str) -> None:
    """After the transaction commits, send ``access_lost`` (whose receiver in
    ``delivery.revocation`` terminates the user's connections)."""

    def send() -> None:
        signals.send_logged(
            signals.access_lost, get_user_model(), logger, user_id=str(user_id), reason=why
        )

    transaction.on_commit(send)


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
