"""Admin for the outbox: every event waiting to be sent, sent (the history),
refused by the server, or given up after repeated tries; with "Send again now"
and "Discard". Read-only otherwise: rows belong to the delivery code."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..delivery import outbox
from ..models import OutboxEvent
from .live import ChannelKindFilter

_CHANGE = "django_toolbox_realtime.change_outboxevent"
_FIELDS: list[str] = [
    "state",
    "event_id",
    "channel",
    "name",
    "seq",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "delivered_at",
    "source",
    "socket_id",
    "data",
]


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "state",
        "channel",
        "name",
        "attempts",
        "next_try",
        "last_error",
        "source",
    ]
    list_filter = ["state", ChannelKindFilter]
    search_fields = ["channel", "name", "event_id", "source"]
    list_select_related = False
    show_full_result_count = False  # the history can be large: no COUNT(*) of it all
    actions = ["retry_now", "discard"]
    fields = _FIELDS  # type: ignore[assignment]
    readonly_fields = _FIELDS

    @admin.display(description=_("next try"), ordering="next_attempt_at")
    def next_try(self, obj: OutboxEvent) -> Any:
        return obj.next_attempt_at if obj.state == OutboxEvent.State.PENDING else "-"

    # Read-only, but for the two actions (for users who may change outbox rows).
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_act_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(_CHANGE))

    @admin.action(description=_("Send again now (keeps the count of tries)"), permissions=["act"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        count = outbox.retry_now(queryset)
        if not count:
            self.message_user(
                request,
                _("Nothing to send again: only waiting, refused or given-up events can be."),
                messages.WARNING,
            )
            return
        self.message_user(
            request,
            ngettext(
                "%(count)d event will be sent at the next delivery round "
                "(manage.py realtime_deliver must be running).",
                "%(count)d events will be sent at the next delivery round "
                "(manage.py realtime_deliver must be running).",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Discard (never send)"), permissions=["act"])
    def discard(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        count = outbox.discard(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d event discarded: it will not be sent.",
                "%(count)d events discarded: they will not be sent.",
                count,
            )
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )
