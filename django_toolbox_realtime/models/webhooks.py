"""The record of webhook deliveries (written by ``webhooks.log``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


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
