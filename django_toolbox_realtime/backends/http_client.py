"""The HTTP client for the server's REST API, built from settings.

It reuses the ``pusher`` library's request signing and its ``requests`` session
(keep-alive across calls) but sends requests itself, so that:

* the library's loose or wrong checks (``sys.getsizeof`` for payload size,
  200-character channels, no batch limit) never stand in for ours;
* every failure becomes a :class:`RealtimeDeliveryError` with the server's
  status, never a bare ``requests`` exception;
* paths the library gets wrong (``terminate_connections``) are right.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pusher
import requests
from pusher.http import GET, POST, Request

from ..conf import SETTINGS_NAME, on_reload, realtime_settings
from ..credentials import credentials_problem
from ..exceptions import RealtimeConfigurationError, RealtimeDeliveryError
from ..validation import is_int

logger = logging.getLogger("django_toolbox_realtime.client")

# Statuses after which sending the same request again cannot succeed.
NON_RETRYABLE_STATUSES = frozenset({400, 401, 403, 404, 413})

_lock = threading.Lock()
_client: pusher.Pusher | None = None


def build_client() -> pusher.Pusher:
    """A new ``pusher.Pusher`` from settings; raises RealtimeConfigurationError."""
    problem = credentials_problem()
    if problem:
        raise RealtimeConfigurationError(problem)
    s = realtime_settings
    port = s.PORT
    try:
        return pusher.Pusher(
            app_id=str(s.APP_ID),
            key=str(s.KEY),
            secret=str(s.SECRET),
            cluster=s.CLUSTER or None,
            host=s.HOST or None,
            port=int(port) if port else None,
            ssl=bool(s.SSL),
            timeout=float(s.TIMEOUT),
            encryption_master_key_base64=s.ENCRYPTION_MASTER_KEY_BASE64 or None,
        )
    except (TypeError, ValueError) as exc:
        # The library's messages name the argument, not the secret.
        raise RealtimeConfigurationError(f"{SETTINGS_NAME} is invalid: {exc}") from exc


def get_client() -> pusher.Pusher:
    """The shared client (one ``requests`` session, so connections are kept alive)."""
    global _client
    client = _client
    if client is None:
        with _lock:
            if _client is None:
                _client = build_client()
            client = _client
    return client


@on_reload
def reset_client() -> None:
    global _client
    with _lock:
        _client = None


def _pusher_client(client: pusher.Pusher) -> Any:
    # pusher.Pusher delegates to a PusherClient that owns the http backend.
    return client._pusher_client


def send(method: str, path: str, params: dict[str, Any] | None = None) -> Any:
    """Sign and send one request to ``/apps/<app_id><path>``; return the decoded JSON."""
    inner = _pusher_client(get_client())
    request = Request(
        inner, POST if method == "POST" else GET, f"/apps/{inner.app_id}{path}", params or {}
    )
    where = f"{method} {path}"
    try:
        response = inner.http.session.request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body,
            timeout=inner.timeout,
            **inner.http.options,
        )
    except requests.Timeout as exc:
        raise RealtimeDeliveryError(
            f"{where}: no answer from {inner.host}:{inner.port} within "
            f"{inner.timeout} s ({SETTINGS_NAME}['TIMEOUT']).",
            original=exc,
        ) from exc
    except requests.RequestException as exc:
        raise RealtimeDeliveryError(
            f"{where}: cannot reach {inner.host}:{inner.port}: {type(exc).__name__}.",
            original=exc,
        ) from exc
    status = response.status_code
    if status in (200, 202):
        try:
            answer = response.json()
        except ValueError:
            return {}
        status = _error_in_body(answer) or status
        if status in (200, 202):
            return answer
    body = response.text[:300].strip()  # decoded only on failure: not on the hot path
    hint = " (check KEY and SECRET)" if status == 401 else ""
    raise RealtimeDeliveryError(
        f"{where}: the server answered {status}{hint}: {body}",
        status=status,
        retryable=status not in NON_RETRYABLE_STATUSES,
    )


def _error_in_body(answer: Any) -> int | None:
    """soketi 1.6 writes CORS headers before the status, so uWebSockets sends
    ``200 OK`` even for its errors; the real status is in the body:
    ``{"error": "...", "code": 401}``. Return that code, if any."""
    if isinstance(answer, dict) and "error" in answer:
        code = answer.get("code")
        if is_int(code) and code >= 400:
            return code
    return None


def server_label() -> str:
    """``host:port`` of the configured server, for logs and health (no credentials)."""
    s = realtime_settings
    if s.HOST:
        port = s.PORT or (443 if s.SSL else 80)
        return f"{s.HOST}:{port}"
    if s.CLUSTER:
        return f"api-{s.CLUSTER}.pusher.com"
    return "api.pusherapp.com"
