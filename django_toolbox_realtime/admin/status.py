"""The admin's "Realtime status" page: the effective configuration with the
secrets masked, the health checks, today's messages against the budget, and a
form to send a test event (needs the change permission of "realtime status").
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import health
from ..backends import http_client as client
from ..conf import realtime_settings
from ..credentials import credentials_problem
from ..delivery.api import trigger_event
from ..exceptions import RealtimeError
from ..health.checks import HealthContext
from ..models import RealtimeStatus
from ..webhooks.verification import accepted_secrets

MASK = "••••••••"


def scrub(text: str) -> str:
    """``text`` with every configured secret replaced by a mask."""
    secrets = {str(realtime_settings.raw("SECRET") or "")}
    secrets |= {s for values in accepted_secrets().values() for s in values}
    secrets.add(str(realtime_settings.raw("ENCRYPTION_MASTER_KEY_BASE64") or ""))
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


class TestEventForm(forms.Form):
    channel = forms.CharField(initial="realtime-test", max_length=164)
    event = forms.CharField(initial="realtime.test", max_length=200)
    payload = forms.CharField(
        label=_("data (JSON)"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        initial='{"message": "Test event from the Django admin"}',
    )

    def clean_payload(self) -> Any:
        try:
            return json.loads(self.cleaned_data["payload"])
        except ValueError as exc:
            raise forms.ValidationError(_("Not valid JSON.")) from exc


@admin.register(RealtimeStatus)
class RealtimeStatusAdmin(admin.ModelAdmin):
    """One page instead of a list: configuration, checks, budget, test event."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return HttpResponseRedirect(
            reverse("admin:django_toolbox_realtime_realtimestatus_changelist")
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form = TestEventForm()
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            form = TestEventForm(request.POST)
            if form.is_valid() and self._send_test_event(request, form.cleaned_data):
                return HttpResponseRedirect(request.path)
        health_context = HealthContext()
        status = health.pusher_status(health_context)
        budget = health_context.budget  # read once, with the status that shows it
        webhook_url = _webhook_url(request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Realtime status"),
            "config": configuration_rows(),
            "status": status,
            "messages_today": budget.sent,
            "budget": budget.daily,
            "budget_percent": _percent(budget.sent, budget.daily),
            "webhook_url": webhook_url,
            "soketi_webhooks": json.dumps(
                [
                    {
                        "url": webhook_url or "https://YOUR-SITE/api/v1/pusher/webhook",
                        "event_types": RECOMMENDED_EVENT_TYPES,
                    }
                ]
            ),
            "form": form,
            "can_send": self.has_change_permission(request),
            "now": timezone.now(),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "django_toolbox_realtime/admin/live_status.html", context)

    def _send_test_event(self, request: HttpRequest, data: dict[str, Any]) -> bool:
        try:
            result = trigger_event(
                channel=data["channel"], event=data["event"], data=data["payload"]
            )
        except RealtimeError as exc:
            self.message_user(request, scrub(f"Not sent: {exc}"), messages.ERROR)
            return False
        if not result.get("sent"):
            self.message_user(
                request, _("Not sent: delivery is disabled (ENABLED is False)."), messages.WARNING
            )
            return False
        self.message_user(
            request,
            _("Sent %(event)s on %(channel)s (id %(id)s).")
            % {"event": result["event"], "channel": data["channel"], "id": result["id"]},
            messages.SUCCESS,
        )
        return True


RECOMMENDED_EVENT_TYPES = [
    "channel_occupied",
    "channel_vacated",
    "member_added",
    "member_removed",
    "cache_miss",
]


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole > 0 else 0.0


def _webhook_url(request: HttpRequest) -> str | None:
    try:
        return request.build_absolute_uri(reverse("toolbox_realtime:webhook"))
    except NoReverseMatch:
        return None


def configuration_rows() -> list[tuple[str, Any]]:
    """The effective settings, for people: the secret and master key are masked."""
    s = realtime_settings
    secret = s.raw("SECRET")
    rows: list[tuple[str, Any]] = [
        ("ENABLED", s.raw("ENABLED")),
        ("BACKEND", s.raw("BACKEND")),
        ("Server", client.server_label()),
        ("CLUSTER", s.raw("CLUSTER") or "—"),
        ("HOST", s.raw("HOST") or "—"),
        ("PORT", s.raw("PORT") or "—"),
        ("SSL", s.raw("SSL")),
        ("APP_ID", s.raw("APP_ID") or "—"),
        ("KEY", s.raw("KEY") or "—"),
        ("SECRET", f"{MASK} (set)" if secret else "(missing)"),
        ("Credentials", credentials_problem() or "OK"),
        (
            "ENCRYPTION_MASTER_KEY_BASE64",
            f"{MASK} (set)" if s.raw("ENCRYPTION_MASTER_KEY_BASE64") else "—",
        ),
        ("WEBHOOK_SECRETS", _webhook_secrets_summary()),
        ("WEBHOOK_TOLERANCE_SECONDS", s.raw("WEBHOOK_TOLERANCE_SECONDS")),
        ("WEBHOOK_MAX_BODY_BYTES", s.raw("WEBHOOK_MAX_BODY_BYTES")),
        ("PRESENCE_GRACE_SECONDS", s.raw("PRESENCE_GRACE_SECONDS")),
        ("HEALTH_CACHE_SECONDS", s.raw("HEALTH_CACHE_SECONDS")),
        ("DAILY_MESSAGE_BUDGET", s.raw("DAILY_MESSAGE_BUDGET")),
    ]
    return rows


def _webhook_secrets_summary() -> str:
    accepted = accepted_secrets()
    count = sum(len(v) for v in accepted.values())
    if realtime_settings.raw("WEBHOOK_SECRETS") is None:
        return "the app SECRET" if count else "none usable: webhooks are refused"
    return (
        f"{count} secret(s) for {len(accepted)} key(s)"
        if count
        else ("none usable: webhooks are refused")
    )
