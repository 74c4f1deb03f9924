"""Delivery settings: backend, credentials, encryption key and transport (E001-E009,
W001), the delivery options (E030-E033), health's settings (E020-E022, W020) and the
browser's (E050-E051)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from ..authorization import browser_options
from ..conf import realtime_settings
from ..credentials import credential_problems
from ..crypto import decode_master_key
from ..delivery import options as delivery_options
from ..exceptions import RealtimeConfigurationError
from ..health import settings_checks
from ..validation import is_number
from .ids import check_id, setting

#: The ids of credential problems, by the setting they are about.
_CREDENTIAL_IDS = {"APP_ID": 2, "SECRET": 3}


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        realtime_settings.user_settings  # noqa: B018  (parses URL; raises on a malformed one)
    except RealtimeConfigurationError as exc:
        return [Error(str(exc), id=check_id(9))]
    return [
        *_backend_errors(),
        *_credential_errors(),
        *_encryption_errors(),
        *_transport_errors(),
    ]


def _backend_errors() -> list[CheckMessage]:
    path = realtime_settings.raw("BACKEND")
    try:
        import_string(path)
    except ImportError:
        return [
            Error(
                f"{setting('BACKEND')} = {path!r} cannot be imported.",
                hint="Use django_toolbox_realtime.backends.pusher.PusherBackend, "
                "...locmem.LocmemBackend, ...log.LogBackend or ...null.NullBackend.",
                id=check_id(7),
            )
        ]
    return []


def _credential_errors() -> list[CheckMessage]:
    s = realtime_settings
    # A missing credential only matters when events go to a server.
    needs_server = bool(s.raw("ENABLED")) and s.raw("BACKEND").endswith("PusherBackend")
    errors: list[CheckMessage] = []
    for problem in credential_problems():
        if problem.missing:
            if needs_server:
                errors.append(
                    Error(
                        f"{problem.message[:-1]} while delivery is enabled.",
                        hint=f"Set it (or {setting('URL')}), or set {setting('ENABLED')} = False.",
                        id=check_id(1),
                    )
                )
        elif problem.setting == "SECRET":
            errors.append(
                Error(
                    problem.message,
                    hint="Copy the app secret from your Pusher dashboard or soketi configuration.",
                    id=check_id(_CREDENTIAL_IDS["SECRET"]),
                )
            )
        else:
            errors.append(Error(problem.message, id=check_id(_CREDENTIAL_IDS[problem.setting])))
    return errors


def _encryption_errors() -> list[CheckMessage]:
    master = realtime_settings.raw("ENCRYPTION_MASTER_KEY_BASE64")
    if master and decode_master_key(master) is None:
        return [
            Error(
                f"{setting('ENCRYPTION_MASTER_KEY_BASE64')} must be 32 random bytes, "
                "base64-encoded.",
                hint='Generate one with: python -c "import os, base64; '
                'print(base64.b64encode(os.urandom(32)).decode())"',
                id=check_id(4),
            )
        ]
    return []


def _transport_errors() -> list[CheckMessage]:
    s = realtime_settings
    errors: list[CheckMessage] = []
    if s.raw("CLUSTER") and not s.raw("HOST") and not s.raw("SSL"):
        errors.append(
            Warning(
                f"{setting('SSL')} is False towards hosted Pusher: credentials-signed requests "
                "and event data would travel unencrypted.",
                id=check_id(1, "W"),
            )
        )
    port = s.raw("PORT")
    if port not in (None, "") and not str(port).isdigit():
        errors.append(Error(f"{setting('PORT')} must be a number.", id=check_id(5)))
    timeout = s.raw("TIMEOUT")
    if not is_number(timeout) or timeout <= 0:
        errors.append(
            Error(f"{setting('TIMEOUT')} must be a positive number of seconds.", id=check_id(6))
        )
    return errors


@register(Tags.security)
def check_health_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """HEALTH_TOKEN, the noise and cap settings, and whether usage counts are shared
    by every process (E020-E022, W020; see ``health.settings_checks``)."""
    return settings_checks.messages()


@register(Tags.compatibility)
def check_browser_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """CLIENT (E050) and AUTH_BATCH_MAX (E051): what {% realtime_config %} and the
    batch authorization endpoint would refuse."""
    try:
        return [Error(message, id=check_id(n)) for n, message in browser_options.problems()]
    except RealtimeConfigurationError:  # the settings cannot be read at all: E009 says why
        return []


@register(Tags.compatibility)
def check_delivery_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """DELIVERY, FIRST_ATTEMPT, retries, history, thresholds (E030-E033)."""
    return [
        Error(p.message, hint=p.hint or None, id=check_id(p.number))
        for p in delivery_options.problems()
    ]
