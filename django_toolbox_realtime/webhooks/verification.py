"""Checks an incoming webhook before anything is processed.

Order matters: the size cap comes before the body is read, the signature before
the body is parsed (an unauthenticated body is never interpreted), and the whole
body is validated before the first event is applied, so a bad body changes
nothing. Every failure raises :class:`WebhookRejected` with the HTTP status to
answer and a short reason that never contains a secret.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from .. import bodies
from ..clock import now_ms, tolerance_ms
from ..conf import SETTINGS_NAME, on_reload, realtime_settings
from ..credentials import is_placeholder_secret
from ..crypto import sign
from ..exceptions import RealtimeValidationError
from ..validation import MAX_USER_ID_LENGTH, is_int

logger = logging.getLogger("django_toolbox_realtime.webhooks")

#: Event names this app understands; others are logged and skipped.
KNOWN_EVENTS = frozenset(
    {
        "channel_occupied",
        "channel_vacated",
        "member_added",
        "member_removed",
        "client_event",
        "cache_miss",
        "subscription_count",
    }
)
MAX_CHANNEL_LENGTH = 200  # ChannelState.name; the server's own limit is 164 (+ "#server-to-user-")
# Printable ASCII without spaces: protocol names plus "#server-to-user-<id>".
_CHANNEL_RE = re.compile(r"\A[\x21-\x7e]+\Z")


class WebhookRejected(Exception):
    """The request is refused with ``status``; ``reason`` is safe to show and log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class WebhookPayload:
    """A verified, validated webhook body."""

    time_ms: int
    events: list[dict[str, Any]]  # known events, validated and normalized
    unknown: list[str] = field(default_factory=list)  # names skipped
    digest: str = ""  # sha256 of the raw body (dedupe key)


def accepted_secrets() -> dict[str, list[str]]:
    """``{app key: [secrets]}`` that may sign webhooks (from ``WEBHOOK_SECRETS``).

    Computed once per settings generation (every webhook needs it).
    """
    global _secrets
    if _secrets is not None:
        return _secrets
    s = realtime_settings
    configured = s.WEBHOOK_SECRETS
    key = str(s.raw("KEY") or "")
    if configured is None:
        mapping: dict[str, Any] = {key: [s.raw("SECRET")]}
    elif isinstance(configured, dict):
        mapping = dict(configured)
    elif isinstance(configured, (list, tuple)):
        mapping = {key: list(configured)}
    else:  # a single string
        mapping = {key: [configured]}
    usable: dict[str, list[str]] = {}
    for app_key, secrets in mapping.items():
        if isinstance(secrets, str) or secrets is None:
            secrets = [secrets]
        good = [
            str(sec)
            for sec in secrets
            if sec is not None and str(sec).strip() and not is_placeholder_secret(sec)
        ]
        if app_key and good:
            usable[str(app_key)] = good
    _secrets = usable
    return usable


# accepted_secrets() of the current settings (None: not computed since the last reload).
_secrets: dict[str, list[str]] | None = None


@on_reload
def _forget_secrets() -> None:
    global _secrets
    _secrets = None


def read_body(request: HttpRequest) -> bytes:
    """The raw body, refusing anything larger than ``WEBHOOK_MAX_BODY_BYTES`` and a
    Content-Length that is not a number or that the body does not reach."""
    limit = int(realtime_settings.WEBHOOK_MAX_BODY_BYTES)
    try:
        length = bodies.declared_length(request.META)
    except RealtimeValidationError as exc:
        raise WebhookRejected(400, str(exc)) from None
    if length > limit:
        raise WebhookRejected(413, f"body of {length} bytes exceeds {limit}")
    # Read one byte more than allowed: a body longer than it claimed is caught too.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise WebhookRejected(413, f"body exceeds {limit} bytes")
    try:
        return bodies.check_complete(body, length)
    except RealtimeValidationError as exc:
        raise WebhookRejected(400, str(exc)) from None


def verify_signature(request: HttpRequest, body: bytes) -> None:
    """Check ``X-Pusher-Key`` and ``X-Pusher-Signature`` over the raw ``body``.

    Constant-time comparison against every accepted secret of the key
    (rotation); the signature must be the lower-case hex digest, exactly.
    """
    # META, not request.headers: building the headers mapping costs more than
    # everything else here.
    key = request.META.get("HTTP_X_PUSHER_KEY")
    signature = request.META.get("HTTP_X_PUSHER_SIGNATURE")
    if not key or not signature:
        raise WebhookRejected(400, "missing X-Pusher-Key or X-Pusher-Signature header")
    secrets_by_key = accepted_secrets()
    if not secrets_by_key:
        logger.error(
            "Webhook refused: no usable secret in %s['WEBHOOK_SECRETS'] or ['SECRET'].",
            SETTINGS_NAME,
        )
        raise WebhookRejected(401, "no webhook secret configured")
    secrets = None
    for known_key, candidates in secrets_by_key.items():
        if constant_time_compare(known_key, key):
            secrets = candidates
    if secrets is None:
        raise WebhookRejected(401, "unknown X-Pusher-Key")
    matched = False
    for secret in secrets:
        # Every secret is tried (no early exit) so timing says nothing about which.
        matched |= constant_time_compare(sign(secret, body), signature)
    if not matched:
        raise WebhookRejected(401, "invalid signature")


def check_time(time_ms: Any, now: int | None = None) -> int:
    """``time_ms`` as an int within ``WEBHOOK_TOLERANCE_SECONDS`` of now."""
    if not is_int(time_ms):
        if isinstance(time_ms, float) and not math.isfinite(time_ms):
            raise WebhookRejected(400, "time_ms is not a finite number")
        raise WebhookRejected(400, "time_ms must be an integer (milliseconds)")
    now = now_ms() if now is None else now
    tolerance = tolerance_ms()
    if time_ms < now - tolerance:
        raise WebhookRejected(400, "time_ms is too old (beyond WEBHOOK_TOLERANCE_SECONDS)")
    if time_ms > now + tolerance:
        raise WebhookRejected(400, "time_ms is in the future (beyond WEBHOOK_TOLERANCE_SECONDS)")
    return time_ms


def _text(event: dict[str, Any], name: str, limit: int, *, optional: bool = False) -> Any:
    """A printable string of 1-``limit`` characters (stored: the database must take it)."""
    value = event.get(name)
    if not isinstance(value, str):
        if value is None and optional:
            return None
        if not (name == "user_id" and is_int(value)):
            raise WebhookRejected(400, f"{event['name']}: invalid '{name}'")
        value = str(value)  # some servers send numeric user ids
    if (
        not value
        or len(value) > limit
        or not value.isprintable()  # no NUL, control characters or lone surrogates
        or (name == "channel" and not _CHANNEL_RE.match(value))
    ):
        raise WebhookRejected(400, f"{event['name']}: invalid '{name}'")
    return value


def normalize_event(event: dict[str, Any]) -> dict[str, Any]:
    """A known event with its fields checked; raises WebhookRejected."""
    name = event["name"]
    clean: dict[str, Any] = {
        "name": name,
        "channel": _text(event, "channel", MAX_CHANNEL_LENGTH),
    }
    if name in ("member_added", "member_removed"):
        clean["user_id"] = _text(event, "user_id", MAX_USER_ID_LENGTH)
    elif name == "subscription_count":
        count = event.get("subscription_count")
        if not is_int(count) or not 0 <= count < 2**31:
            raise WebhookRejected(400, "subscription_count must be a non-negative integer")
        clean["subscription_count"] = count
    elif name == "client_event":
        clean["event"] = _text(event, "event", 200)
        clean["data"] = event.get("data")
        clean["socket_id"] = _text(event, "socket_id", 64, optional=True)
        clean["user_id"] = _text(event, "user_id", MAX_USER_ID_LENGTH, optional=True)
    return clean


def parse_body(body: bytes, now: int | None = None) -> WebhookPayload:
    """Decode and validate a (verified) body. Nothing is applied here. The JSON
    rules are the auth endpoints' (``bodies.load_json_object``): one object, no
    repeated key, no NaN/Infinity, at most ``bodies.MAX_JSON_DEPTH`` levels."""
    try:
        data = bodies.load_json_object(body)
    except RealtimeValidationError as exc:
        raise WebhookRejected(400, str(exc)) from None
    if "time_ms" not in data:
        raise WebhookRejected(400, "time_ms is missing")
    time_ms = check_time(data["time_ms"], now)
    raw_events = data.get("events")
    if not isinstance(raw_events, list):
        raise WebhookRejected(400, "events must be a list")
    events: list[dict[str, Any]] = []
    unknown: list[str] = []
    for raw in raw_events:
        if not isinstance(raw, dict):
            raise WebhookRejected(400, "each event must be an object")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise WebhookRejected(400, "an event has no name")
        if name in KNOWN_EVENTS:
            events.append(normalize_event(raw))
        else:
            unknown.append(name[:100])
    return WebhookPayload(
        time_ms=time_ms,
        events=events,
        unknown=unknown,
        digest=hashlib.sha256(body).hexdigest(),
    )


def verify_request(request: HttpRequest, now: int | None = None) -> WebhookPayload:
    """Everything above, in order: size, headers, signature, JSON, time, events
    (``now``: the time to check ``time_ms`` against, in ms; default :func:`now_ms`)."""
    body = read_body(request)
    verify_signature(request, body)
    return parse_body(body, now)
