"""The transactional outbox: events waiting to be sent, and the history of sent ones
(written by ``delivery.outbox``; sent by ``delivery.lanes`` and ``delivery.rounds``).

One row per (event, channel): a fan-out to N channels is N rows sharing one
``event_id``, because each channel numbers its events itself (``seq``). Delivered
rows are kept (within ``HISTORY_MAX_PER_CHANNEL`` / ``HISTORY_MAX_AGE_SECONDS``) as
the channel's history, read by ``(channel, seq)``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxEvent(models.Model):
    """One event for one channel, written in the transaction of the change it reports."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        DELIVERED = "delivered", _("sent")
        FAILED = "failed", _("refused by the server")
        DEAD = "dead", _("gave up after repeated tries")
        DISCARDED = "discarded", _("discarded")

    event_id = models.CharField(_("event id"), max_length=64)
    channel = models.CharField(_("channel"), max_length=200)
    name = models.CharField(_("event"), max_length=200)
    # The event's JSON exactly as encoded at publish, without the "_rt" envelope.
    data = models.TextField(_("data"))
    # The connection excluded from receiving it (the sender's), or "".
    socket_id = models.CharField(_("excluded connection"), max_length=64, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveIntegerField(_("tries"), default=0)
    next_attempt_at = models.DateTimeField(_("next try"))
    # The channel's sequence number: null until the first try, then kept on retries.
    seq = models.BigIntegerField(_("sequence number"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"))
    delivered_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    source = models.CharField(_("origin"), max_length=255, blank=True)

    class Meta:
        db_table = "django_toolbox_realtime_outbox"
        ordering = ["-id"]
        # The write path touches only the primary key and the pending lane index;
        # the others cover rows once they have been tried. (No index on
        # next_attempt_at: senders find due channels through the lane index,
        # and every index is one more write per claimed row; migration 0005.)
        indexes = [
            # A lane's waiting rows in order (senders).
            models.Index(
                fields=["channel", "id"],
                name="trt_outbox_pending_lane",
                condition=models.Q(state="pending"),
            ),
            # A lane's numbered waiting rows (leased or waiting for a retry) by seq:
            # claims read them apart from the new rows, so that a backlog of new
            # rows is never read whole to sort it. Inserts (seq NULL) skip it.
            models.Index(
                fields=["channel", "seq"],
                name="trt_outbox_pending_numbered",
                condition=models.Q(state="pending", seq__isnull=False),
            ),
            # History by (channel, seq), and pruning beyond HISTORY_MAX_PER_CHANNEL.
            models.Index(
                fields=["channel", "seq"],
                name="trt_outbox_history",
                condition=models.Q(seq__isnull=False),
            ),
            # Pruning beyond HISTORY_MAX_AGE_SECONDS.
            models.Index(
                fields=["delivered_at"],
                name="trt_outbox_delivered",
                condition=models.Q(state="delivered"),
            ),
            # Pruning discarded rows (few: only the admin's "discard" makes them),
            # without a scan of the whole table every minute.
            models.Index(
                fields=["created_at"],
                name="trt_outbox_discarded",
                condition=models.Q(state="discarded"),
            ),
            # Refused and dead events (health, the admin's filter).
            models.Index(
                fields=["state", "id"],
                name="trt_outbox_problems",
                condition=models.Q(state__in=["failed", "dead"]),
            ),
        ]
        verbose_name = _("outgoing event")
        verbose_name_plural = _("outgoing events (outbox)")

    def __str__(self) -> str:
        return f"{self.name} on {self.channel} ({self.get_state_display()})"


class DeliveryLane(models.Model):
    """One per channel: its sequence counter, and the row a sender locks
    (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL) while it claims the
    channel's next events, so that one sender at a time numbers and sends them."""

    channel = models.CharField(_("channel"), max_length=200, unique=True)
    last_seq = models.BigIntegerField(_("last sequence number"), default=0)

    class Meta:
        db_table = "django_toolbox_realtime_lane"
        verbose_name = _("delivery lane")
        verbose_name_plural = _("delivery lanes")

    def __str__(self) -> str:
        return f"{self.channel} (#{self.last_seq})"
