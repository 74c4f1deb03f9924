"""A test-only middleware that records the requests the live server answered, so a
browser test can count them at the server (``REQUESTS``: (method, path) pairs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

REQUESTS: list[tuple[str, str]] = []


class RecordRequestsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        REQUESTS.append((request.method or "", request.path))
        return self.get_response(request)


def requests_to(method: str, path: str) -> int:
    """How many ``method`` requests the server answered on ``path`` (with or without
    a trailing slash)."""
    wanted = path.rstrip("/")
    return sum(1 for verb, seen in REQUESTS if verb == method and seen.rstrip("/") == wanted)


def posts_to(path: str) -> int:
    return requests_to("POST", path)


def gets_to(path: str) -> int:
    return requests_to("GET", path)
