"""The CSRF headers Laravel Echo (and axios) send, accepted on the auth endpoints.

Echo puts its ``csrfToken`` option (or ``<meta name="csrf-token">``) into
``X-CSRF-TOKEN`` on every pusher-js authorization request; axios copies the
``XSRF-TOKEN`` cookie into ``X-XSRF-TOKEN`` on its own requests (a custom
authorizer). Django reads ``settings.CSRF_HEADER_NAME`` (``X-CSRFToken``) only, so
when that header is absent the first of these is handed to Django's own CSRF
check under Django's name: the token is checked exactly as Django's header would
be (valid for this browser's CSRF cookie or session), never trusted by itself.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

#: ``request.META`` keys of the headers accepted besides Django's, in order.
ECHO_HEADERS = ("HTTP_X_CSRF_TOKEN", "HTTP_X_XSRF_TOKEN")


def accept_echo_csrf_header(meta: Any) -> None:
    """Copy Echo's (or axios') CSRF header to ``CSRF_HEADER_NAME`` when the request
    did not send Django's own (which then wins)."""
    if meta.get(settings.CSRF_HEADER_NAME):
        return
    for key in ECHO_HEADERS:
        if meta.get(key):
            meta[settings.CSRF_HEADER_NAME] = meta[key]
            return
