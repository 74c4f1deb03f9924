"""``POST webhook``: the server tells Django what happens on its channels.

1. verify (size cap, key, HMAC of the raw body, JSON, ``time_ms``, every event)
   — any failure answers 400/401/413 and changes nothing;
2. store, in one write (``state.run``: one transaction, retried whole on
   conflict): the delivery record first (its digest makes a repeated body a
   no-op), then the state changes of every known event;
3. after commit, send one signal per change with ``send_robust``: a failing
   receiver is logged and the server still gets its 200. (A non-2xx would make
   hosted Pusher retry the whole body, which the digest then drops as a
   duplicate: the receiver would not run again anyway, and soketi never retries.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.utils import timezone
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .. import state
from ..clock import now_ms
from ..models import WebhookDelivery
from ..state import Batch
from ..webhooks import log as webhook_log
from ..webhooks.verification import WebhookPayload, WebhookRejected, verify_request

logger = logging.getLogger("django_toolbox_realtime.webhooks")

Outcome = WebhookDelivery.Outcome


class _Duplicate(Exception):
    """The same body was accepted before: the write stops, changing nothing."""


@dataclass
class _Stored:
    """What the write stored: the delivery record's pk and the stale events."""

    pk: int | None = None
    stale: int = 0


def _prune_if_due(pk: int | None) -> None:
    """Prune the delivery log and the ended state rows, once per
    ``webhook_log.PRUNE_EVERY`` deliveries (accepted, duplicate or rejected)."""
    if not webhook_log.prune_due(pk):
        return
    try:
        webhook_log.prune(newest=pk)
        state.prune()
    except DatabaseError:
        logger.warning("Could not prune webhook deliveries and ended state.", exc_info=True)


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
        try:
            payload = verify_request(request, now_ms())
        except WebhookRejected as exc:
            pk = webhook_log.record(Outcome.REJECTED, exc.status, detail=exc.reason)
            # Logged at WARNING as sampled for the delivery log (WEBHOOK_REJECTIONS_LOGGED
            # per period): a flood of forged webhooks must not flood the logs either.
            level = logging.WARNING if pk is not None else logging.DEBUG
            logger.log(level, "Webhook rejected (%s): %s", exc.status, exc.reason)
            _prune_if_due(pk)
            return JsonResponse({"ok": False, "error": exc.reason}, status=exc.status)

        names = webhook_log.names_summary([e["name"] for e in payload.events] + payload.unknown)
        if payload.unknown:
            logger.warning(
                "Webhook events skipped (unknown names): %s",
                webhook_log.names_summary(payload.unknown),
            )
        stored = _Stored()
        try:
            # One transaction for the record and the state, retried whole on conflict.
            changes = state.run(self.writer(payload, names, stored), timezone.now())
        except _Duplicate:
            pk = webhook_log.record(
                Outcome.DUPLICATE,
                200,
                time_ms=payload.time_ms,
                event_count=len(payload.events) + len(payload.unknown),
                event_names=names,
                detail="same body already processed",
            )
            _prune_if_due(pk)
            return JsonResponse({"ok": True, "duplicate": True})
        except DatabaseError:
            logger.exception("Webhook state could not be stored.")
            # 503, not 500: hosted Pusher will retry the body later.
            return JsonResponse({"ok": False, "error": "state could not be stored"}, status=503)
        state.send_changes(changes, sender=type(self))
        _prune_if_due(stored.pk)
        return JsonResponse(
            {
                "ok": True,
                "processed": len(payload.events) - stored.stale,
                "stale": stored.stale,
                "skipped": len(payload.unknown),
            }
        )

    @staticmethod
    def writer(payload: WebhookPayload, names: str, stored: _Stored) -> Callable[[Batch], None]:
        """The work of the write: record the delivery, then apply its events; notes
        the record's pk and the number of stale events in ``stored``. Raises
        :class:`_Duplicate` when the same body was accepted before."""
        detail = ""
        if payload.unknown:
            detail = f"skipped unknown: {webhook_log.names_summary(payload.unknown)}"

        def work(b: Batch) -> None:
            # First statement: a repeated body stops here, before any change (a
            # concurrent one waits for this transaction on PostgreSQL).
            try:
                pk = webhook_log.insert(
                    Outcome.ACCEPTED,
                    200,
                    digest=payload.digest,
                    time_ms=payload.time_ms,
                    event_count=len(payload.events) + len(payload.unknown),
                    event_names=names,
                    detail=detail,
                    cursor=b.cursor,
                )
            except IntegrityError:  # a backend that cannot skip an existing digest
                pk = None
            if pk is None:
                raise _Duplicate
            # No savepoint: a conflict rolls the record back too, and run() applies
            # the whole body again.
            stale = state.apply_events(b, payload.events, payload.time_ms)
            if stale:
                webhook_log.set_detail(
                    pk, f"{stale} event(s) older than the stored state. {detail}"
                )
            stored.pk, stored.stale = pk, stale

        return work
