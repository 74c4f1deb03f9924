"""The rows of the security cases table (``test_cases_table.py``): a registry
(``@case(number, slug)``) and the request helpers the rows share."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings as django_settings

from tests.helpers import sign

KEY, SECRET = django_settings.TEST_KEY, django_settings.TEST_SECRET
AUTH, USER_AUTH = "/api/v1/pusher/auth", "/api/v1/pusher/user-auth"
BATCH, HOOK, HISTORY = (
    "/api/v1/pusher/auth/batch",
    "/api/v1/pusher/webhook",
    "/api/v1/pusher/history",
)
FORM, JSON = "application/x-www-form-urlencoded", "application/json"
DENIED = {"error": "forbidden", "detail": "You may not subscribe to this channel."}
#: case number -> (slug, the row: a function whose arguments are pytest fixtures).
CASES: dict[int, tuple[str, Callable[..., None]]] = {}


def case(number: int, slug: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def register(check: Callable[..., None]) -> Callable[..., None]:
        assert number not in CASES, number
        CASES[number] = (slug, check)
        return check

    return register


def post(w: Any, login: str, url: str = AUTH, body: Any = None, ctype: str = FORM, **h: Any) -> Any:
    client, credentials = w.clients[login]
    raw = body if isinstance(body, bytes) else urlencode(body or {}).encode()
    return client.generic("POST", url, raw, content_type=ctype, **credentials, **h)


def auth(w: Any, channel: Any, socket_id: Any = "1.2", login: str = "bearer:stu") -> Any:
    return post(w, login, body={"socket_id": socket_id, "channel_name": channel})


def now_ms() -> int:
    return int(time.time() * 1000)


def hook(client: Any, body: Any, secret: str = SECRET, key: str = KEY, **h: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sig = {"HTTP_X_PUSHER_KEY": key, "HTTP_X_PUSHER_SIGNATURE": sign(secret, raw)}
    return client.post(HOOK, raw, content_type=JSON, **{**sig, **h})


def events(*evs: dict[str, Any], t: int | None = None) -> dict[str, Any]:
    return {"time_ms": now_ms() if t is None else t, "events": list(evs)}


def refused(response: Any, *statuses: int) -> None:
    assert response.status_code in statuses, response.content[:200]
    assert "auth" not in response.json()
