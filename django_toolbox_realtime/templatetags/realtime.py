"""``{% load realtime %}{% realtime_config %}``: the public client configuration.

Renders ``<script id="realtime-config" type="application/json">`` (Django's
``json_script``; an optional argument names the element id) with what pusher-js
and the app's ``realtime.js`` need: the key, the cluster or the self-hosted
address (``CLIENT`` over HOST/PORT/SSL), the endpoints reversed from the URLconf
(any mount point works), the batch limit, and the request's CSRF token with the
header it goes in. It never holds the secret, the encryption master key, the
health token or any webhook secret: it is built from an allow-list of keys.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, reverse
from django.utils.html import json_script
from django.utils.safestring import SafeString

from ..authorization.browser_options import batch_max, browser_address
from ..conf import realtime_settings
from ..exceptions import RealtimeConfigurationError

register = template.Library()

DEFAULT_ELEMENT_ID = "realtime-config"
#: The header SocketIDMiddleware reads (its ``HEADER``, ``HTTP_X_SOCKET_ID``).
SOCKET_ID_HEADER = "X-Socket-ID"
#: URL names of the app's URLconf (namespace ``toolbox_realtime``), by config key.
ENDPOINTS = {
    "authEndpoint": "auth",
    "batchAuthEndpoint": "auth-batch",
    "userAuthEndpoint": "user-auth",
    "historyEndpoint": "history",
}


def header_name(meta_key: str) -> str:
    """The HTTP header a ``request.META`` key is read from: ``HTTP_X_MY_TOKEN`` ->
    ``X-My-Token``; Django's default ``HTTP_X_CSRFTOKEN`` -> ``X-CSRFToken``."""
    if meta_key == "HTTP_X_CSRFTOKEN":
        return "X-CSRFToken"
    name = meta_key.removeprefix("HTTP_")
    return "-".join(part.capitalize() for part in name.split("_"))


def _endpoint(name: str) -> str:
    try:
        return reverse(f"toolbox_realtime:{name}")
    except NoReverseMatch as exc:
        raise RealtimeConfigurationError(
            f"{{% realtime_config %}} cannot find the URL 'toolbox_realtime:{name}': "
            'include("django_toolbox_realtime.urls") in your URLconf.'
        ) from exc


def client_config(request: Any) -> dict[str, Any]:
    """The configuration object of the tag (the front-end contract's keys)."""
    s = realtime_settings
    address = browser_address()
    return {
        "enabled": bool(s.raw("ENABLED")),
        "key": s.raw("KEY"),
        "cluster": None if address.ws_host else s.raw("CLUSTER"),
        "wsHost": address.ws_host,
        "wsPort": address.ws_port,
        "wssPort": address.ws_port,
        "forceTLS": address.force_tls,
        "enabledTransports": ["ws", "wss"],
        **{key: _endpoint(name) for key, name in ENDPOINTS.items()},
        "batchMax": batch_max(),
        "csrf": {"headerName": header_name(settings.CSRF_HEADER_NAME), "token": get_token(request)},
        "socketIdHeader": SOCKET_ID_HEADER,
    }


@register.simple_tag(takes_context=True)
def realtime_config(context: Any, element_id: str = DEFAULT_ELEMENT_ID) -> SafeString:
    """``<script id=element_id type="application/json">`` holding :func:`client_config`."""
    request = context.get("request")
    if request is None:
        raise RealtimeConfigurationError(
            "{% realtime_config %} needs the request in the template context: add "
            "'django.template.context_processors.request' to TEMPLATES' context_processors "
            "or render with a RequestContext."
        )
    return json_script(client_config(request), element_id)
