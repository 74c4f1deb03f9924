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
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .. import health, state, webhook_log
from ..models import ChannelState, WebhookDelivery
from ..state_transitions import ATTEMPTS
from ..webhook_verification import WebhookPayload, WebhookRejected, verify_request

logger = logging.getLogger("django_toolbox_realtime.webhooks")

Outcome = WebhookDelivery.Outcome


class WebhookView(View):
    """Receives Pusher / soketi webhooks. Mount at ``webhook`` (see urls.py)."""

    http_method_names = ["post"]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        """The view, CSRF-exempt (the server signs its requests) and outside any
        ``ATOMIC_REQUESTS`` transaction (signals are sent after this view's own
        commit). Decorated once here: ``method_decorator`` would apply the
        decorators again on every request."""
        return csrf_exempt(transaction.non_atomic_requests(super().as_view(**initkwargs)))

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
        pk, changes, stale = stored
        if changes:
            # Committed: health's cached status must not show the state from before.
            health.forget_cached_status()
        state.send_changes(changes, sender=type(self))
        webhook_log.maybe_prune(pk)
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
    ) -> tuple[int, list[state.Change], int] | None:
        """Record and apply ``payload`` in one transaction; None when the same body
        was processed before. Returns the record's pk, the changes and the number
        of stale events."""
        detail = ""
        if payload.unknown:
            detail = f"skipped unknown: {webhook_log.names_summary(payload.unknown)}"
        # The state's database: one transaction must hold the record and the state.
        alias = router.db_for_write(ChannelState)
        for attempt in range(ATTEMPTS):
            try:
                with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
                    # First statement: a repeated body stops here, before any change
                    # (a concurrent one waits for this transaction on PostgreSQL).
                    pk = webhook_log.insert(
                        Outcome.ACCEPTED,
                        200,
                        digest=payload.digest,
                        time_ms=payload.time_ms,
                        event_count=len(payload.events) + len(payload.unknown),
                        event_names=names,
                        detail=detail,
                        cursor=cursor,
                    )
                    if pk is None:
                        return None
                    # One transaction, no savepoint: a conflict rolls back the record
                    # too, and the loop applies the body again.
                    changes, stale = state.apply_events(
                        payload.events, payload.time_ms, cursor=cursor
                    )
                    if stale:
                        webhook_log.set_detail(
                            pk, f"{stale} event(s) older than the stored state. {detail}"
                        )
                return pk, changes, stale
            except IntegrityError:
                # A state row created meanwhile by another process (RowConflict), or a
                # repeated digest on a backend that cannot skip conflicting rows.
                if webhook_log.seen(payload.digest):
                    return None
                if attempt == ATTEMPTS - 1:
                    raise
                logger.info("Concurrent write on the same channel state; applying again.")
        raise AssertionError("unreachable")
