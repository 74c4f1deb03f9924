"""``POST webhook``: the server tells Django what happens on its channels.

1. verify (size cap, key, HMAC of the raw body, JSON, ``time_ms``, every event)
   — any failure answers 400/401/413 and changes nothing;
2. store, in one transaction: the delivery record (its digest makes a repeated
   body a no-op) and the state changes of every known event;
3. after commit, send one signal per change with ``send_robust``: a failing
   receiver is logged and the server still gets its 200. (A non-2xx would make
   hosted Pusher retry the whole body, which the digest then drops as a
   duplicate: the receiver would not run again anyway, and soketi never retries.)
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .. import state, webhook_log
from ..models import WebhookDelivery
from ..webhook_verification import WebhookPayload, WebhookRejected, verify_request

logger = logging.getLogger("django_toolbox_realtime.webhooks")

Outcome = WebhookDelivery.Outcome


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class WebhookView(View):
    """Receives Pusher / soketi webhooks. Mount at ``webhook`` (see urls.py)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        now_ms = int(time.time() * 1000)
        try:
            payload = verify_request(request, now_ms)
        except WebhookRejected as exc:
            logger.warning("Webhook rejected (%s): %s", exc.status, exc.reason)
            webhook_log.record(Outcome.REJECTED, exc.status, detail=exc.reason)
            return JsonResponse({"ok": False, "error": exc.reason}, status=exc.status)

        names = webhook_log.names_summary([e["name"] for e in payload.events] + payload.unknown)
        if payload.unknown:
            logger.warning(
                "Webhook events skipped (unknown names): %s",
                webhook_log.names_summary(payload.unknown),
            )
        try:
            stored = webhook_log.retry_on_lock(lambda: self.store(payload, names))
        except DatabaseError:
            logger.exception("Webhook state could not be stored.")
            # 503, not 500: hosted Pusher will retry the body later.
            return JsonResponse({"ok": False, "error": "state could not be stored"}, status=503)
        if stored is None:
            webhook_log.record(
                Outcome.DUPLICATE,
                200,
                time_ms=payload.time_ms,
                event_count=len(payload.events) + len(payload.unknown),
                event_names=names,
                detail="same body already processed",
            )
            return JsonResponse({"ok": True, "duplicate": True})
        delivery, changes, stale = stored
        state.send_changes(changes, sender=type(self))
        webhook_log.maybe_prune(delivery.pk)
        return JsonResponse(
            {
                "ok": True,
                "processed": len(payload.events) - stale,
                "stale": stale,
                "skipped": len(payload.unknown),
            }
        )

    def store(
        self, payload: WebhookPayload, names: str
    ) -> tuple[WebhookDelivery, list[state.Change], int] | None:
        """Record and apply ``payload``; None when the same body was processed before."""
        detail = ""
        if payload.unknown:
            detail = f"skipped unknown: {webhook_log.names_summary(payload.unknown)}"
        try:
            with transaction.atomic():
                # First statement: a repeated body fails here, before any change.
                delivery = WebhookDelivery.objects.create(
                    digest=payload.digest,
                    time_ms=payload.time_ms,
                    outcome=Outcome.ACCEPTED,
                    status_code=200,
                    event_count=len(payload.events) + len(payload.unknown),
                    event_names=names,
                    detail=webhook_log.clean_text(detail, 255),
                )
                changes, stale = state.apply_events(payload.events, payload.time_ms)
                if stale:
                    delivery.detail = webhook_log.clean_text(
                        f"{stale} event(s) older than the stored state. {detail}", 255
                    )
                    delivery.save(update_fields=["detail"])
        except IntegrityError:
            if WebhookDelivery.objects.filter(digest=payload.digest).exists():
                return None
            raise
        return delivery, changes, stale
