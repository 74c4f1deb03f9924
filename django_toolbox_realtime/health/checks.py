"""Health checks: small classes with ``run()``, listed by dotted path in
``HEALTH_CHECKS`` (the Pusher part) and ``HEALTH_SERVICE_CHECKS`` (``/health``).

A check returns a :class:`CheckResult` with ``status`` ``"ok"``, ``"warning"``,
``"error"`` or ``"skipped"``, a short ``message`` and JSON-able ``details``.
An ``"error"`` of a ``critical`` check makes the whole report unhealthy; a
warning (or an error of a non-critical check) makes it degraded. Messages are
written here, never copied from exceptions, so no secret can leak through them.

To add one (for example the delivery backlog, once the outbox exists), subclass
:class:`BaseCheck` and append its path to the setting.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.cache import cache
from django.db import connections
from django.db.models import Max
from django.utils import timezone

from ..backends import get_backend
from ..backends import http_client as client
from ..conf import SETTINGS_NAME, realtime_settings
from ..credentials import credentials_problem
from ..delivery import outbox, usage
from ..models import WebhookDelivery
from ..webhooks import log as webhook_log
from . import server, sources

OK, WARNING, ERROR, SKIPPED = "ok", "warning", "error", "skipped"


@dataclass
class CheckResult:
    status: str
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, **self.details}


class HealthContext:
    """What the checks of one report share: the time, the settings' verdict, the
    server snapshot (asked for lazily, so disabled setups never ask) and today's
    message count (read once)."""

    def __init__(self) -> None:
        self.now = timezone.now()
        self.enabled = bool(realtime_settings.ENABLED)
        self.credentials_problem = credentials_problem() if self.enabled else None
        self._server: dict[str, Any] | None = None
        self._server_asked = False

    @property
    def uses_server(self) -> bool:
        try:
            return bool(getattr(get_backend(), "delivers_to_server", False))
        except Exception:  # an unimportable backend is the configuration check's to report
            return False

    def server(self) -> dict[str, Any] | None:
        """The server snapshot, or None when the server is not (to be) asked."""
        if not self._server_asked:
            self._server_asked = True
            if self.enabled and not self.credentials_problem and self.uses_server:
                self._server = server.snapshot()
        return self._server

    @cached_property
    def budget(self) -> usage.Budget:
        """Today's message count (one read per report) against the budget."""
        return usage.todays_budget()

    @cached_property
    def channels(self) -> sources.ActiveChannels:
        """The active channels: the stored state, checked against the snapshot."""
        return sources.active_channels(self.server())

    def server_fetched_at(self) -> float | None:
        """When the snapshot used was fetched (``server.clock``), if one was used."""
        fetched = (self._server or {}).get("fetched_at")
        return float(fetched) if isinstance(fetched, (int, float)) else None

    def server_pending(self) -> bool:
        """True when the server was to be asked but another probe's request had not
        answered yet (the report then says so, for this request only)."""
        return self._server is not None and self.server_fetched_at() is None


class BaseCheck:
    #: Key of the check in the report.
    name = "check"
    #: Whether an "error" makes the report unhealthy (else degraded).
    critical = True

    def __init__(self, context: HealthContext) -> None:
        self.context = context

    def run(self) -> CheckResult:
        raise NotImplementedError


class ConfigurationCheck(BaseCheck):
    """Delivery enabled, credentials present and not placeholders, backend importable."""

    name = "configuration"

    def run(self) -> CheckResult:
        ctx = self.context
        if not ctx.enabled:
            return CheckResult(OK, f"{SETTINGS_NAME}['ENABLED'] is False: nothing is sent.")
        if ctx.credentials_problem:
            return CheckResult(ERROR, ctx.credentials_problem)
        try:
            backend = get_backend()
        except Exception:
            return CheckResult(ERROR, f"{SETTINGS_NAME}['BACKEND'] cannot be loaded.")
        return CheckResult(
            OK,
            "credentials are set",
            {"backend": type(backend).__name__, "server": client.server_label()},
        )


class ServerCheck(BaseCheck):
    """The server answers a signed API request (so the credentials are right too)."""

    name = "server"

    def run(self) -> CheckResult:
        ctx = self.context
        if not ctx.enabled or ctx.credentials_problem:
            return CheckResult(SKIPPED, "not asked (see configuration)")
        if not ctx.uses_server:
            return CheckResult(SKIPPED, "the backend does not send to a server")
        snap = ctx.server() or {}
        details = {
            "reachable": bool(snap.get("ok")),
            "latency_ms": snap.get("latency_ms"),
            "age_seconds": snap.get("age_seconds"),
            "cache_seconds": server.period(),
        }
        if not snap.get("ok"):
            return CheckResult(ERROR, str(snap.get("error") or "no answer"), details)
        details["channels"] = len(snap.get("channels") or {})
        return CheckResult(OK, "reachable", details)


class WebhookCheck(BaseCheck):
    """Webhooks arrive and are accepted, and the stored state agrees with the server.

    Rejections are counted, but anyone can send a webhook with a wrong signature,
    and a quiet app legitimately receives none: it warns only on what an operator
    must act on — within ``HEALTH_WEBHOOK_SILENCE_SECONDS``, webhooks were
    rejected and none was accepted, while the stored state differs from the
    server's (the server's own webhooks are refused: a wrong secret)."""

    name = "webhooks"
    critical = False

    def run(self) -> CheckResult:
        now = self.context.now
        silence = float(realtime_settings.HEALTH_WEBHOOK_SILENCE_SECONDS)
        latest = WebhookDelivery.objects.order_by("-pk").first()
        accepted = WebhookDelivery.objects.filter(
            outcome=WebhookDelivery.Outcome.ACCEPTED
        ).aggregate(at=Max("received_at"))["at"]
        since_accepted = (now - accepted).total_seconds() if accepted else None
        details: dict[str, Any] = {
            "last_received_at": latest.received_at.isoformat() if latest else None,
            "last_outcome": latest.outcome if latest else None,
            "last_accepted_at": accepted.isoformat() if accepted else None,
            "seconds_since_last_accepted": (
                round(since_accepted, 1) if since_accepted is not None else None
            ),
            "rejected_last_hour": webhook_log.rejections_within(3600, now),
        }
        matches = self.context.channels.matches
        if matches is not None:
            details["state_matches_server"] = matches
        if matches is False:
            details["hint"] = (
                "stored channel state differs from the server: webhooks are not set up, "
                "lost or refused (run manage.py realtime_sync)"
            )
        quiet = since_accepted is None or since_accepted > silence
        # The counter is read again (another window) only when it could warn.
        rejected = webhook_log.rejections_within(silence, now) if quiet and matches is False else 0
        if rejected:
            reason = self._latest_rejection(latest)
            return CheckResult(
                WARNING,
                f"{rejected} webhook(s) rejected ({reason}) and none accepted in "
                f"{silence:g} s, while the stored state differs from the server: check "
                f"{SETTINGS_NAME}['WEBHOOK_SECRETS'] (or SECRET) against the server's",
                details,
            )
        if latest is None:
            return CheckResult(OK, "no webhook received yet", details)
        return CheckResult(OK, "receiving webhooks", details)

    @staticmethod
    def _latest_rejection(latest: WebhookDelivery | None) -> str:
        record = latest
        if record is None or record.outcome != WebhookDelivery.Outcome.REJECTED:
            record = (
                WebhookDelivery.objects.filter(outcome=WebhookDelivery.Outcome.REJECTED)
                .order_by("-pk")
                .first()
            )
        return record.detail if record and record.detail else "no reason recorded"


class BudgetCheck(BaseCheck):
    """Messages published today against ``DAILY_MESSAGE_BUDGET``."""

    name = "budget"
    critical = False
    #: Warn when less than this share of the budget is left.
    warn_below = 0.10

    def run(self) -> CheckResult:
        budget = self.context.budget
        remaining = budget.remaining
        details = {
            "messages_today": budget.sent,
            "daily_budget": budget.daily,
            "remaining": remaining,
        }
        if remaining <= 0:
            return CheckResult(WARNING, "today's message budget is used up", details)
        if remaining < budget.daily * self.warn_below:
            return CheckResult(WARNING, "less than 10% of today's message budget is left", details)
        return CheckResult(OK, f"{remaining} messages left today", details)


class DatabaseCheck(BaseCheck):
    """Every configured database answers ``SELECT 1``."""

    name = "database"

    def run(self) -> CheckResult:
        failed = []
        for alias in connections:
            try:
                with connections[alias].cursor() as cursor:
                    cursor.execute("SELECT 1")
                    cursor.fetchone()
            except Exception as exc:  # reported by class name only: messages may hold a DSN
                failed.append(f"{alias} ({type(exc).__name__})")
        if failed:
            return CheckResult(ERROR, "database unavailable: " + ", ".join(failed))
        return CheckResult(OK, "available", {"databases": len(connections.all())})


class CacheCheck(BaseCheck):
    """The default cache stores and returns a value."""

    name = "cache"

    def run(self) -> CheckResult:
        key = f"toolbox_realtime:health:probe:{uuid.uuid4().hex}"
        try:
            cache.set(key, "ok", 10)
            value = cache.get(key)
            cache.delete(key)
        except Exception as exc:
            return CheckResult(ERROR, f"cache unavailable ({type(exc).__name__})")
        if value != "ok":
            return CheckResult(ERROR, "the cache did not return what was stored")
        return CheckResult(OK, "available")


class DeliveryCheck(BaseCheck):
    """The outbox backlog: events waiting, the oldest one's age, refused and dead
    ones, against the HEALTH_DELIVERY_* thresholds (see docs/delivery.md)."""

    name = "delivery"
    critical = False  # a backlog is not cured by taking this server out of rotation

    def run(self) -> CheckResult:
        if realtime_settings.DELIVERY == "immediate":  # "outbox" and "celery" keep rows
            return CheckResult(SKIPPED, "no outbox (DELIVERY is 'immediate')")
        found = outbox.backlog(now=self.context.now)
        status, message = found.verdict()
        return CheckResult(status, message, found.details())
