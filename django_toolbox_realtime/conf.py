"""Settings for django-toolbox-realtime.

Everything lives in one dict, ``settings.TOOLBOX_REALTIME``. It is read lazily on
first use (never at import time) and re-read when a test changes settings
(``setting_changed``), in the manner of Django REST framework's ``api_settings``.

Usage::

    from django_toolbox_realtime.conf import realtime_settings
    realtime_settings.APP_ID
"""

from __future__ import annotations

from dataclasses import dataclass
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
    "ROLE_RESOLVER": "django_toolbox_realtime.authorization.roles.default_role_resolver",
    "PRESENCE_USER_INFO": "django_toolbox_realtime.authorization.presence.default_user_info",
    # Cache alias holding the policy version key; use a shared cache (Redis,
    # Memcached, database) so an admin edit applies on the next request everywhere.
    "POLICY_CACHE": "default",
    # Seconds a process keeps its compiled policies without seeing a version bump:
    # the staleness bound when the cache is not shared between processes.
    "POLICY_CACHE_MAX_AGE": 30,
    # True: terminate a user's live connections (revoke_user) when the account is
    # deactivated or deleted, or its role drops.
    "REVOKE_ON_USER_CHANGE": False,
    # --- webhooks, live state, health --------------------------------------------
    # Secrets accepted on incoming webhooks (rotation: list old and new).
    # None: the app SECRET. A list: secrets for the app KEY. A dict: {key: secret or
    # [secrets]} when the server may sign with several app keys.
    "WEBHOOK_SECRETS": None,
    # Seconds a webhook's time_ms may lie in the past or future. Hosted Pusher retries
    # a failed webhook for 5 minutes with the original time_ms: 330 = 300 + 30 s of
    # clock skew and transit. Accepted bodies are remembered this long (dedupe).
    "WEBHOOK_TOLERANCE_SECONDS": 330,
    # Largest webhook body accepted (bytes); larger ones get 413 before being read.
    "WEBHOOK_MAX_BODY_BYTES": 1_048_576,
    # Rejected/duplicate webhook records kept for the admin (accepted ones are also
    # kept while their body may still be replayed, i.e. within the tolerance).
    "WEBHOOK_DELIVERY_LOG_SIZE": 1000,
    # Seconds a member_removed / channel_vacated waits before it takes effect (and its
    # signal is sent); a member_added / channel_occupied within it cancels the leave,
    # so a page reload does not flap a user offline. 0: immediately (hosted Pusher
    # already delays these by ~3 s; soketi does not: 5 is a good value with soketi).
    "PRESENCE_GRACE_SECONDS": 0,
    # Health asks the server at most once per this many seconds (shared through the
    # default cache), however often it is polled.
    "HEALTH_CACHE_SECONDS": 10,
    # Checks of /health/pusher/status, by dotted path (classes with run()).
    "HEALTH_CHECKS": [
        "django_toolbox_realtime.health.checks.ConfigurationCheck",
        "django_toolbox_realtime.health.checks.ServerCheck",
        "django_toolbox_realtime.health.checks.WebhookCheck",
        "django_toolbox_realtime.health.checks.BudgetCheck",
    ],
    # Checks that /health adds next to services.pusher.
    "HEALTH_SERVICE_CHECKS": [
        "django_toolbox_realtime.health.checks.DatabaseCheck",
        "django_toolbox_realtime.health.checks.CacheCheck",
    ],
    # At most this many names in health's active_channels (the count is always exact).
    "HEALTH_MAX_CHANNELS_LISTED": 100,
    # --- budget -------------------------------------------------------------------
    # Messages a day the plan allows (Pusher's free tier: 200,000).
    "DAILY_MESSAGE_BUDGET": 200_000,
}

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


def is_placeholder_secret(value: Any) -> bool:
    """Whether ``value`` is a tutorial placeholder rather than a real secret."""
    return str(value).strip().lower() in PLACEHOLDER_SECRETS


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
        global _credentials_answer
        self._cache.clear()
        self._user = None
        _credentials_answer = None
        for callback in list(_reload_callbacks):
            callback()


realtime_settings = RealtimeSettings()


@dataclass(frozen=True)
class CredentialProblem:
    """Why ``APP_ID`` / ``KEY`` / ``SECRET`` are unusable: the setting it is about,
    a message that never holds the secret, and ``missing`` when it is not set."""

    setting: str
    message: str
    missing: bool = False


def credential_problems() -> list[CredentialProblem]:
    """Every reason the credentials cannot sign, in the order they are reported.

    The one copy of the rule: the system checks report each, the HTTP client and
    the auth signatures refuse on the first (see :func:`credentials_problem`).
    """
    s = realtime_settings
    problems = []
    for name in ("APP_ID", "KEY", "SECRET"):
        value = s.raw(name)
        if value is None or not str(value).strip():
            problems.append(
                CredentialProblem(name, f"{SETTINGS_NAME}['{name}'] is missing or blank.", True)
            )
    app_id = str(s.raw("APP_ID") or "")
    if app_id and not (app_id.isascii() and app_id.isdigit()):
        problems.append(
            CredentialProblem(
                "APP_ID",
                f"{SETTINGS_NAME}['APP_ID'] must be digits only (the Pusher protocol's "
                "app ids are numeric).",
            )
        )
    secret = s.raw("SECRET")
    if secret and is_placeholder_secret(secret):
        problems.append(
            CredentialProblem(
                "SECRET", f"{SETTINGS_NAME}['SECRET'] is a placeholder, not a real secret."
            )
        )
    return problems


# credentials_problem() for the current settings ("" = none; None = not computed
# since the last reload): signing and health ask on every request.
_credentials_answer: str | None = None


def credentials_problem() -> str | None:
    """The first reason the credentials cannot sign, or None. Never includes a secret."""
    global _credentials_answer
    if _credentials_answer is None:
        problems = credential_problems()
        _credentials_answer = problems[0].message if problems else ""
    return _credentials_answer or None

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
