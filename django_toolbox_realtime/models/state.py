"""Live channel and presence state, kept from the server's webhooks (written by
``state``; read by health, the admin and the public read functions)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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
