"""The app's tables.

* ChannelPolicy: who may subscribe where (managed in the admin).
* ChannelState, PresenceMember: live state kept from the server's webhooks.
* WebhookDelivery: recent webhook deliveries (outcome, and a digest for dedupe).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _

from .authz_cache import bump_now_and_after_commit
from .validation import SIGNED_KINDS

# --- channel authorization ---------------------------------------------------------


class ChannelPolicyQuerySet(models.QuerySet["ChannelPolicy"]):
    """Writes that send no model signals bump the authorization version themselves
    (see authz_cache), so a policy changed by ``update()``, ``bulk_update()`` (which
    runs ``update()``), ``bulk_create()`` or a ``delete()`` that Django performs
    without signals applies on the next decision, like one saved in the admin."""

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        if count:
            bump_now_and_after_commit()
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
            bump_now_and_after_commit()
        return created

    def delete(self) -> tuple[int, dict[str, int]]:
        # post_delete bumps per row when it is sent; a fast delete (no receivers
        # connected) sends nothing.
        deleted = super().delete()
        if deleted[0]:
            bump_now_and_after_commit()
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

    def clean(self) -> None:
        # Imported here: the policy engine imports this module.
        from django.core.exceptions import ValidationError

        from .exceptions import RealtimeValidationError
        from .patterns import compile_pattern
        from .roles import hierarchy

        errors: dict[str, str] = {}
        try:
            pattern = compile_pattern(self.channel)
        except RealtimeValidationError as exc:
            errors["channel"] = str(exc)
        else:
            if pattern.kind not in SIGNED_KINDS:
                errors["channel"] = str(
                    _(
                        "Public channels cannot be protected: anyone may subscribe without "
                        "a signature. Use a private-, private-encrypted- or presence- name."
                    )
                )
        if self.min_role not in hierarchy():
            errors["min_role"] = str(
                _("Not a role of ROLE_HIERARCHY: %(roles)s.") % {"roles": ", ".join(hierarchy())}
            )
        if errors:
            raise ValidationError(errors)


# --- live state from webhooks ----------------------------------------------------------


class ChannelState(models.Model):
    """What the server last told us about one channel."""

    name = models.CharField(_("channel"), max_length=200, unique=True)
    occupied = models.BooleanField(_("occupied"), default=False, db_index=True)
    occupied_since = models.DateTimeField(_("occupied since"), null=True, blank=True)
    vacated_at = models.DateTimeField(_("vacated at"), null=True, blank=True)
    subscription_count = models.PositiveIntegerField(_("subscriptions"), null=True, blank=True)
    last_event_at = models.DateTimeField(_("last webhook at"), null=True, blank=True)
    # Set when channel_vacated arrived but the grace period has not passed yet.
    vacating_at = models.DateTimeField(_("vacating since"), null=True, blank=True)
    # time_ms of the newest webhook applied: an older one must not overwrite it.
    last_time_ms = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        # Expired grace periods are found by vacating_at (see state_transitions
        # .settle_expired): only the few channels with a pending vacate are indexed.
        indexes = [
            models.Index(
                fields=["vacating_at"],
                name="trt_channel_vacating",
                condition=models.Q(vacating_at__isnull=False),
            )
        ]
        verbose_name = _("live channel")
        verbose_name_plural = _("live channels")

    def __str__(self) -> str:
        return self.name


class RealtimeStatus(ChannelState):
    """No table of its own: gives the admin its "Realtime status" page."""

    class Meta:
        proxy = True
        verbose_name = _("realtime status")
        verbose_name_plural = _("realtime status")


class PresenceMember(models.Model):
    """A user on a presence channel (present while ``left_at`` is empty)."""

    channel = models.CharField(_("channel"), max_length=200, db_index=True)
    user_id = models.CharField(_("user id"), max_length=128)
    joined_at = models.DateTimeField(_("joined at"))
    # Set when member_removed arrived but the grace period has not passed yet.
    leaving_at = models.DateTimeField(_("leaving at"), null=True, blank=True)
    # Set once the member is gone. The row is kept for the webhook tolerance window,
    # so that a late, older member_added cannot bring the member back.
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)
    last_time_ms = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["channel", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "user_id"], name="trt_member_unique")
        ]
        # Expired grace periods are found by leaving_at among the members not gone
        # (see state_transitions.settle_expired): only pending leaves are indexed.
        indexes = [
            models.Index(
                fields=["leaving_at"],
                name="trt_member_leaving",
                condition=models.Q(leaving_at__isnull=False, left_at__isnull=True),
            )
        ]
        verbose_name = _("online member")
        verbose_name_plural = _("online members")

    def __str__(self) -> str:
        return f"{self.user_id} on {self.channel}"


class WebhookDelivery(models.Model):
    """One webhook request received: its outcome, and a digest to drop repeats."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        DUPLICATE = "duplicate", _("duplicate (ignored)")
        REJECTED = "rejected", _("rejected")

    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    # sha256 of the raw body; set only for accepted deliveries (dedupe key).
    digest = models.CharField(max_length=64, null=True, blank=True, unique=True)
    time_ms = models.BigIntegerField(null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"))
    event_count = models.PositiveIntegerField(_("events"), default=0)
    event_names = models.CharField(_("event names"), max_length=255, blank=True)
    detail = models.CharField(_("detail"), max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at"]
        # Pruning deletes accepted records by time_ms (once they can no longer be
        # replayed) every few deliveries: without it, each prune scans them all.
        indexes = [models.Index(fields=["time_ms"], name="trt_delivery_time_ms")]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {self.outcome}"
