"""Channel policies: who may subscribe where, managed in the admin.

The policy engine (``authorization``) reads these rows and keeps them compiled in
memory behind a version. Saves and deletes send model signals, which the engine
receives; the queryset writes that Django performs without model signals send
:data:`policy_rows_changed` instead, so every write reaches the engine without
this module importing it (models sit below authorization).

Validation of the channel pattern and the role lives with the rules it checks
(``authorization.policy_rules``): the admin form and the system checks call it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from django.contrib.auth.models import Group
from django.db import models
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

#: Sent (sender=ChannelPolicy) after a queryset write that sends no model signals:
#: ``update()``, ``bulk_update()``, ``bulk_create()`` and a fast ``delete()``.
policy_rows_changed = Signal()


def _rows_changed() -> None:
    policy_rows_changed.send(sender=ChannelPolicy)


class ChannelPolicyQuerySet(models.QuerySet["ChannelPolicy"]):
    """Writes that send no model signals send :data:`policy_rows_changed`, so a
    policy changed by ``update()``, ``bulk_update()`` (which runs ``update()``),
    ``bulk_create()`` or a ``delete()`` that Django performs without signals applies
    on the next decision, like one saved in the admin."""

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        if count:
            _rows_changed()
        return count

    def bulk_create(
        self,
        objs: Iterable[Any],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Collection[str] | None = None,
        unique_fields: Collection[str] | None = None,
    ) -> list[Any]:
        created = super().bulk_create(
            objs,
            batch_size=batch_size,
            ignore_conflicts=ignore_conflicts,
            update_conflicts=update_conflicts,
            update_fields=update_fields,
            unique_fields=unique_fields,
        )
        if created:
            _rows_changed()
        return created

    def delete(self) -> tuple[int, dict[str, int]]:
        # post_delete bumps per row when it is sent; a fast delete (no receivers
        # connected) sends nothing.
        deleted = super().delete()
        if deleted[0]:
            _rows_changed()
        return deleted


class ChannelPolicy(models.Model):
    """Allows users of at least ``min_role`` (and, if any are chosen, in one of
    ``allowed_groups``) to subscribe to the channels ``channel`` names.

    ``channel`` is an exact name (``private-teacher``) or a pattern with named
    placeholders (``presence-classroom-{id}``); a placeholder matches one or more
    of ``A-Z a-z 0-9 _ = @ , ;`` (never ``-`` or ``.``). Exact names win over patterns.
    """

    channel = models.CharField(
        _("channel name or pattern"),
        max_length=164,
        unique=True,
        help_text=_(
            "An exact channel name such as private-teacher, or a pattern such as "
            "presence-classroom-{id}. Must start with private-, private-encrypted- or "
            "presence-: public channels cannot be protected."
        ),
    )
    description = models.CharField(_("description"), max_length=255, blank=True)
    min_role = models.CharField(
        _("minimum role"),
        max_length=64,
        help_text=_("Users with this role or a higher one may subscribe."),
    )
    allowed_groups = models.ManyToManyField(
        Group,
        blank=True,
        related_name="+",
        verbose_name=_("allowed groups"),
        help_text=_("If any are chosen, the user must also belong to one of them."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive policies allow nothing.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ChannelPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["channel"]
        verbose_name = _("channel policy")
        verbose_name_plural = _("channel policies")

    def __str__(self) -> str:
        return f"{self.channel} ({self.min_role}+)"
