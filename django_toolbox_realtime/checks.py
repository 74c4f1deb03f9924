"""System checks: configuration mistakes reported by ``manage.py check`` at startup.

IDs: ``toolbox_realtime.E001``... errors, ``toolbox_realtime.W001``... warnings.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from .conf import SETTINGS_NAME, realtime_settings
from .exceptions import RealtimeConfigurationError

# Values copied from tutorials and .env templates that are not real secrets.
PLACEHOLDER_SECRETS = frozenset(
    {
        "your_secret_key",
        "your-secret-key",
        "your_secret",
        "your-secret",
        "secret",
        "changeme",
        "change-me",
        "change_me",
        "xxx",
        "xxxx",
        "pusher_secret",
        "your_pusher_secret",
        "app-secret",
        "app_secret",
        "<secret>",
        "todo",
    }
)


def _id(n: int, kind: str = "E") -> str:
    return f"toolbox_realtime.{kind}{n:03d}"


def _setting(name: str) -> str:
    return f"{SETTINGS_NAME}['{name}']"


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    errors: list[Any] = []
    try:
        s = realtime_settings
        s.user_settings  # noqa: B018  (parses URL; raises on a malformed one)
    except RealtimeConfigurationError as exc:
        return [Error(str(exc), id=_id(9))]

    try:
        import_string(s.raw("BACKEND"))
    except ImportError:
        errors.append(
            Error(
                f"{_setting('BACKEND')} = {s.raw('BACKEND')!r} cannot be imported.",
                hint="Use django_toolbox_realtime.backends.pusher.PusherBackend, "
                "...locmem.LocmemBackend, ...log.LogBackend or ...null.NullBackend.",
                id=_id(7),
            )
        )
    needs_server = s.raw("BACKEND").endswith("PusherBackend")
    if s.raw("ENABLED") and needs_server:
        for name in ("APP_ID", "KEY", "SECRET"):
            value = s.raw(name)
            if value is None or not str(value).strip():
                errors.append(
                    Error(
                        f"{_setting(name)} is missing or blank while delivery is enabled.",
                        hint=f"Set it (or {_setting('URL')}), "
                        f"or set {_setting('ENABLED')} = False.",
                        id=_id(1),
                    )
                )
    app_id = str(s.raw("APP_ID") or "")
    if app_id and not (app_id.isascii() and app_id.isdigit()):
        errors.append(
            Error(
                f"{_setting('APP_ID')} must be digits only (the Pusher protocol's "
                "app ids are numeric).",
                id=_id(2),
            )
        )
    secret = s.raw("SECRET")
    if secret and str(secret).strip().lower() in PLACEHOLDER_SECRETS:
        errors.append(
            Error(
                f"{_setting('SECRET')} is a placeholder, not a real secret.",
                hint="Copy the app secret from your Pusher dashboard or soketi configuration.",
                id=_id(3),
            )
        )
    master = s.raw("ENCRYPTION_MASTER_KEY_BASE64")
    if master:
        try:
            raw = base64.b64decode(str(master), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            errors.append(
                Error(
                    f"{_setting('ENCRYPTION_MASTER_KEY_BASE64')} must be 32 random bytes, "
                    "base64-encoded.",
                    hint="Generate one with: python -c \"import os, base64; "
                    'print(base64.b64encode(os.urandom(32)).decode())"',
                    id=_id(4),
                )
            )
    if s.raw("CLUSTER") and not s.raw("HOST") and not s.raw("SSL"):
        errors.append(
            Warning(
                f"{_setting('SSL')} is False towards hosted Pusher: credentials-signed requests "
                "and event data would travel unencrypted.",
                id=_id(1, "W"),
            )
        )
    port = s.raw("PORT")
    if port not in (None, "") and not str(port).isdigit():
        errors.append(Error(f"{_setting('PORT')} must be a number.", id=_id(5)))
    timeout = s.raw("TIMEOUT")
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        errors.append(
            Error(f"{_setting('TIMEOUT')} must be a positive number of seconds.", id=_id(6))
        )
    return errors
