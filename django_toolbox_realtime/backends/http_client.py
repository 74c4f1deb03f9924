"""The HTTP client for the server's REST API, built from settings.

It reuses the ``pusher`` library's request signing but sends requests itself, over
``transport`` (``http.client``, kept alive; the library's ``requests`` session only
behind a proxy), so that:

* the library's loose or wrong checks (``sys.getsizeof`` for payload size,
  200-character channels, no batch limit) never stand in for ours;
* every failure becomes a :class:`RealtimeDeliveryError` with the server's
  status, never a bare ``requests`` or socket exception;
* paths the library gets wrong (``terminate_connections``) are right.
"""

from __future__ import annotations

import http.client
import json
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
from . import transport

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
    """The shared client: the credentials and signing (connections: ``transport``)."""
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
    transport.reset()  # connections (and proxy answers) of the old settings


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
        status, body = _exchange(inner, request)
    except (TimeoutError, requests.Timeout) as exc:
        raise RealtimeDeliveryError(
            f"{where}: no answer from {inner.host}:{inner.port} within "
            f"{inner.timeout} s ({SETTINGS_NAME}['TIMEOUT']).",
            original=exc,
        ) from exc
    except (OSError, http.client.HTTPException, requests.RequestException) as exc:
        raise RealtimeDeliveryError(
            f"{where}: cannot reach {inner.host}:{inner.port}: {type(exc).__name__}.",
            original=exc,
        ) from exc
    if status in (200, 202):
        try:
            answer = json.loads(body)
        except ValueError:
            return {}
        status = _error_in_body(answer) or status
        if status in (200, 202):
            return answer
    text = body.decode("utf-8", "replace")[:300].strip()  # only on failure
    hint = " (check KEY and SECRET)" if status == 401 else ""
    raise RealtimeDeliveryError(
        f"{where}: the server answered {status}{hint}: {text}",
        status=status,
        retryable=status not in NON_RETRYABLE_STATUSES,
    )


def _exchange(inner: Any, request: Request) -> tuple[int, bytes]:
    """(status, body) of the signed request, over the lean transport; through the
    library's ``requests`` session when the environment names a proxy for the
    server (``http.client`` ignores HTTP(S)_PROXY and NO_PROXY; requests honours
    them), so a proxied setup behaves as it always did."""
    if transport.proxied(inner.scheme, inner.host):
        response = inner.http.session.request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body,
            timeout=inner.timeout,
            **inner.http.options,
        )
        return response.status_code, response.content
    target = transport.Target(inner.scheme, inner.host, inner.port, inner.timeout)
    answer = transport.send(
        target, request.method, request.signed_path, request.headers, request.body
    )
    return answer.status, answer.body


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
