"""``ContentLengthMiddleware``: a request whose Content-Length is not a plain number
is a 400 before anything reads its body.

Django's ``request.body`` and ``request.POST`` (the login form, the CSRF check) call
``int()`` on the header: ``abc`` or 5,000 digits raise ``ValueError``, a 500; and
``int()`` also takes ``-1``, ``+5`` or `` 5``, which no HTTP client sends. It is first
in ``MIDDLEWARE``, so every view of the project, Django's own included, is covered.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from django_toolbox_realtime import bodies
from django_toolbox_realtime.exceptions import RealtimeValidationError

BAD_LENGTH = {
    "error": "bad_request",
    "detail": "The Content-Length header must be a non-negative decimal number.",
}


def valid_content_length(value: object) -> bool:
    """Absent or empty (no body), or 1-18 ASCII digits: the app's own rule
    (:func:`django_toolbox_realtime.bodies.declared_length`)."""
    try:
        bodies.declared_length({"CONTENT_LENGTH": value})
    except RealtimeValidationError:
        return False
    return True


class ContentLengthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not all(
            valid_content_length(request.META.get(key))
            for key in ("CONTENT_LENGTH", "HTTP_CONTENT_LENGTH")
        ):
            return JsonResponse(BAD_LENGTH, status=400)
        return self.get_response(request)
