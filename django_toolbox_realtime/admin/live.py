"""Admin for live state: channels, members and webhook deliveries.

All read-only: the state belongs to the server's webhooks (and ``realtime_sync``).
The "Realtime status" page is in ``status``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..models import ChannelState, PresenceMember, WebhookDelivery
from ..state import present_members
from ..validation import (
    ENCRYPTED_PREFIX,
    PRESENCE_PREFIX,
    PRIVATE_PREFIX,
    SERVER_TO_USER_PREFIX,
    channel_kind,
)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ChannelKindFilter(admin.SimpleListFilter):
    """The kinds of :func:`~django_toolbox_realtime.validation.channel_kind`, in SQL."""

    title = _("kind")
    parameter_name = "kind"
    #: The name prefix of each kind but "public" (the names with none of them).
    prefixes = {
        "encrypted": ENCRYPTED_PREFIX,
        "private": PRIVATE_PREFIX,
        "presence": PRESENCE_PREFIX,
        "user": SERVER_TO_USER_PREFIX,
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("public", _("public")),
            ("private", _("private")),
            ("encrypted", _("private-encrypted")),
            ("presence", _("presence")),
            ("user", _("server-to-user")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        field = "name" if queryset.model is ChannelState else "channel"
        if value == "public":
            for prefix in self.prefixes.values():
                queryset = queryset.exclude(**{f"{field}__startswith": prefix})
        elif value in self.prefixes:
            prefix = self.prefixes[value]
            queryset = queryset.filter(**{f"{field}__startswith": prefix})
            # A longer prefix is another kind ("private-encrypted-" is not "private").
            for other in self.prefixes.values():
                if other != prefix and other.startswith(prefix):
                    queryset = queryset.exclude(**{f"{field}__startswith": other})
        return queryset


@admin.register(ChannelState)
class ChannelStateAdmin(_ReadOnly):
    list_display = [
        "name",
        "kind",
        "occupied",
        "occupied_since",
        "subscription_count",
        "vacating_at",
        "vacated_at",
        "last_event_at",
    ]
    list_filter = ["occupied", ChannelKindFilter]
    search_fields = ["name"]
    ordering = ["-occupied", "name"]

    @admin.display(description=_("kind"))
    def kind(self, obj: ChannelState) -> str:
        return channel_kind(obj.name)


class PresenceFilter(admin.SimpleListFilter):
    title = _("presence")
    parameter_name = "presence"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("online", _("online")), ("leaving", _("leaving (grace period)"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "online":
            return queryset.filter(leaving_at__isnull=True)
        if self.value() == "leaving":
            return queryset.filter(leaving_at__isnull=False)
        return queryset


@admin.register(PresenceMember)
class PresenceMemberAdmin(_ReadOnly):
    list_display = ["user_id", "channel", "joined_at", "leaving_at"]
    list_filter = [PresenceFilter, ChannelKindFilter]
    search_fields = ["user_id", "channel"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # Members who left are kept briefly to order late webhooks: not shown.
        return present_members()


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnly):
    list_display = ["received_at", "outcome", "status_code", "event_count", "event_names", "detail"]
    list_filter = ["outcome", "status_code"]
    search_fields = ["event_names", "detail"]
    exclude = ["digest"]
