"""The baseline of the webhook benchmark: what a careful user writes by hand with
the ``pusher`` library, without this app.

The signature (and ``time_ms``) checked by the library's own ``validate_webhook``,
then every event of the batch stored with the ORM in one transaction. The client
is built once, as a careful user would (not per request).
"""

from __future__ import annotations

from functools import lru_cache

import pusher
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import ReceivedEvent


@lru_cache(maxsize=1)
def client() -> pusher.Pusher:
    config = settings.TOOLBOX_REALTIME
    return pusher.Pusher(app_id=config["APP_ID"], key=config["KEY"], secret=config["SECRET"])


@csrf_exempt
def handwritten_webhook(request: HttpRequest) -> JsonResponse:
    data = client().validate_webhook(
        key=request.headers.get("X-Pusher-Key", ""),
        signature=request.headers.get("X-Pusher-Signature", ""),
        body=request.body.decode("utf-8"),
    )
    if data is None:
        return JsonResponse({"ok": False}, status=401)
    events = data.get("events", [])
    with transaction.atomic():
        for event in events:
            ReceivedEvent.objects.create(
                name=event["name"],
                channel=event["channel"],
                user_id=event.get("user_id", ""),
                time_ms=data["time_ms"],
            )
    return JsonResponse({"ok": True, "processed": len(events)})
