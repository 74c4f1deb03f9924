"""Keeping the policy version true: every write to what authorization reads
(policies, their groups, groups, users' groups) publishes a new version, now and
after commit, and forgets this process's compiled policies.

Connected from ``AppConfig.ready()`` (:func:`connect_receivers`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from ..models import ChannelPolicy, policy_rows_changed
from .matcher import reset
from .version import publish_now_and_after_commit

logger = logging.getLogger("django_toolbox_realtime.policies")


def _changed(**kwargs: Any) -> None:
    if kwargs.get("raw"):
        return  # loaddata: rows may be incomplete; the commit bump covers it
    reset()
    publish_now_and_after_commit()


def _m2m_changed(action: str = "", **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        _changed()


def _group_deleted(instance: Group, **kwargs: Any) -> None:
    # A policy limited to this group alone would silently become open to every user
    # with the role once the group is gone: deactivate it instead (fail closed).
    # (Annotated before filtering on the group, so the count covers all its groups.)
    lonely = list(
        ChannelPolicy.objects.annotate(group_count=Count("allowed_groups"))
        .filter(allowed_groups=instance, is_active=True, group_count=1)
        .order_by("pk")
    )
    for policy in lonely:
        logger.warning(
            "Group %r deleted: deactivating %s, which allowed only that group.",
            instance.name,
            policy,
        )
    if lonely:
        ChannelPolicy.objects.filter(pk__in=[p.pk for p in lonely]).update(is_active=False)
    _changed()


def connect_receivers() -> None:
    """Bump the authorization version whenever policies, groups or a user's groups
    change (from AppConfig.ready())."""
    post_save.connect(_changed, sender=ChannelPolicy, dispatch_uid="trt_policy_saved")
    # Queryset writes that send no model signals (update, bulk_create, fast delete).
    policy_rows_changed.connect(
        _changed, sender=ChannelPolicy, dispatch_uid="trt_policy_rows_changed"
    )
    post_delete.connect(_changed, sender=ChannelPolicy, dispatch_uid="trt_policy_deleted")
    m2m_changed.connect(
        _m2m_changed, sender=ChannelPolicy.allowed_groups.through, dispatch_uid="trt_policy_groups"
    )
    # A renamed group can change a role; a deleted one changes memberships.
    post_save.connect(_changed, sender=Group, dispatch_uid="trt_group_saved")
    pre_delete.connect(_group_deleted, sender=Group, dispatch_uid="trt_group_deleted")
    user_groups_field = getattr(get_user_model(), "groups", None)
    through = getattr(user_groups_field, "through", None)
    if through is not None:
        m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid="trt_user_groups")
