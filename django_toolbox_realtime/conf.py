"""Settings for django-toolbox-realtime.

Everything lives in one dict, ``settings.TOOLBOX_REALTIME``. It is read lazily on
first use (never at import time) and re-read when a test changes settings
(``setting_changed``), in the manner of Django REST framework's ``api_settings``.

Usage::

    from django_toolbox_realtime.conf import realtime_settings
    realtime_settings.APP_ID
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from .exceptions import RealtimeConfigurationError

SETTINGS_NAME = "TOOLBOX_REALTIME"

DEFAULTS: dict[str, Any] = {
    # --- server and credentials -------------------------------------------------
    # False: nothing is sent (logged once per call at INFO); health says "disabled".
    "ENABLED": True,
    "APP_ID": None,
    "KEY": None,
    "SECRET": None,
    # Hosted Pusher: the cluster ("us2", "eu", "mt1", ...).
    "CLUSTER": None,
    # Self-hosted Pusher-protocol server (soketi, Reverb): host and port.
    # HOST wins over CLUSTER.
    "HOST": None,
    "PORT": None,
    "SSL": True,
    # Seconds for one HTTP request to the server's API (connect + read).
    "TIMEOUT": 5,
    # 32 random bytes, base64: enables private-encrypted- channels.
    "ENCRYPTION_MASTER_KEY_BASE64": None,
    # "http(s)://KEY:SECRET@HOST[:PORT]/apps/APP_ID": fills the keys above that are
    # not set explicitly.
    "URL": None,
    "BACKEND": "django_toolbox_realtime.backends.pusher.PusherBackend",
    # --- channel authorization (auth views, policies) --------------------------
    "AUTHENTICATION_CLASSES": [
        "django_toolbox_realtime.authentication.CSRFEnforcingSessionAuthentication",
        "django_toolbox_realtime.authentication.BearerTokenAuthentication",
    ],
    "ROLE_HIERARCHY": {"student": 1, "teacher": 2, "admin": 3},
    "ROLE_RESOLVER": "django_toolbox_realtime.roles.default_role_resolver",
    "PRESENCE_USER_INFO": "django_toolbox_realtime.presence.default_user_info",
    # --- webhooks, live state, health --------------------------------------------
    # Secrets accepted on incoming webhooks (rotation: list old and new).
    # None: the app SECRET.
    "WEBHOOK_SECRETS": None,
    # --- budget -------------------------------------------------------------------
    # Messages a day the plan allows (Pusher's free tier: 200,000).
    "DAILY_MESSAGE_BUDGET": 200_000,
}

# Settings whose value is a dotted path imported on access.
IMPORT_STRINGS = {"ROLE_RESOLVER", "PRESENCE_USER_INFO"}
# Settings read from the URL form when not given explicitly.
URL_FIELDS = ("APP_ID", "KEY", "SECRET", "HOST", "PORT", "SSL")


def parse_url(url: str) -> dict[str, Any]:
    """Split ``http(s)://KEY:SECRET@HOST[:PORT]/apps/APP_ID`` into settings keys."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/").split("/")
    if (
        parts.scheme not in ("http", "https")
        or not parts.username
        or not parts.password
        or not parts.hostname
        or len(path) != 3
        or path[1] != "apps"
    ):
        # The URL carries the secret: never echo it back.
        raise RealtimeConfigurationError(
            f"{SETTINGS_NAME}['URL'] must look like 'https://KEY:SECRET@HOST[:PORT]/apps/APP_ID'."
        )
    return {
        "APP_ID": path[2],
        "KEY": unquote(parts.username),
        "SECRET": unquote(parts.password),
        "HOST": parts.hostname,
        "PORT": parts.port,
        "SSL": parts.scheme == "https",
    }


class RealtimeSettings:
    """Attribute access to ``TOOLBOX_REALTIME`` merged over :data:`DEFAULTS`."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}
        self._user: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        if self._user is None:
            value = getattr(settings, SETTINGS_NAME, {}) or {}
            if not isinstance(value, dict):
                raise RealtimeConfigurationError(f"settings.{SETTINGS_NAME} must be a dict.")
            user = dict(value)
            if user.get("URL"):
                for name, parsed in parse_url(user["URL"]).items():
                    if user.get(name) in (None, ""):
                        user[name] = parsed
            self._user = user
        return self._user

    def raw(self, name: str) -> Any:
        """The value without importing dotted paths."""
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown {SETTINGS_NAME} setting: {name!r}")
        return self.user_settings.get(name, DEFAULTS[name])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._cache:
            return self._cache[name]
        value = self.raw(name)
        if name in IMPORT_STRINGS and isinstance(value, str):
            try:
                value = import_string(value)
            except ImportError as exc:
                raise RealtimeConfigurationError(
                    f"{SETTINGS_NAME}['{name}'] = {value!r} cannot be imported: {exc}"
                ) from exc
        self._cache[name] = value
        return value

    def reload(self) -> None:
        self._cache.clear()
        self._user = None
        for callback in list(_reload_callbacks):
            callback()


realtime_settings = RealtimeSettings()

# Modules that cache objects built from settings (the HTTP client, the policy
# matcher) register a callback here so that override_settings resets them.
_reload_callbacks: list[Any] = []


def on_reload(callback: Any) -> Any:
    """Register ``callback`` to run whenever the settings are reloaded."""
    _reload_callbacks.append(callback)
    return callback


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTINGS_NAME:
        realtime_settings.reload()


setting_changed.connect(_setting_changed, dispatch_uid="toolbox_realtime_settings_changed")
