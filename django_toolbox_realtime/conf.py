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
    # Channels one POST auth/batch may name (the JS helper splits larger batches).
    "AUTH_BATCH_MAX": 50,
    # --- the browser ({% realtime_config %}) -------------------------------------
    # Where pusher-js connects when it differs from the server-side HOST/PORT/SSL:
    # {"WS_HOST": ..., "WS_PORT": ..., "FORCE_TLS": ...}, each defaulting to those.
    "CLIENT": {},
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
        "django_toolbox_realtime.health.checks.DeliveryCheck",
    ],
    # Checks that /health adds next to services.pusher.
    "HEALTH_SERVICE_CHECKS": [
        "django_toolbox_realtime.health.checks.DatabaseCheck",
        "django_toolbox_realtime.health.checks.CacheCheck",
    ],
    # At most this many names in health's active_channels (the count is always exact).
    "HEALTH_MAX_CHANNELS_LISTED": 100,
    # Bearer token (32+ random characters) that sees health in full, like staff
    # users; None: staff only. Others get the status and the counts.
    "HEALTH_TOKEN": None,
    # Webhooks degrade health only if, within this many seconds, some were rejected,
    # none was accepted, and the stored state differs from the server's.
    "HEALTH_WEBHOOK_SILENCE_SECONDS": 900,
    # Rejected webhooks stored with their reason per 5 minutes (all are counted).
    "WEBHOOK_REJECTIONS_LOGGED": 10,
    # Public channels (anyone may invent one) kept in the live state at most.
    "STATE_MAX_PUBLIC_CHANNELS": 100,
    # --- budget -------------------------------------------------------------------
    # Messages a day the plan allows (Pusher's free tier: 200,000).
    "DAILY_MESSAGE_BUDGET": 200_000,
    # Where every process counts messages sent and webhooks rejected: "auto" (the
    # default cache if Redis or Memcached, else the database), "cache", "database".
    "USAGE_COUNTER": "auto",
    # --- model broadcasting, the bridge (see docs/broadcasting.md) ---------------
    # {"app_label.Model": {options of broadcasts.ModelBroadcast}}: models broadcast
    # from settings, like @broadcasts.register() in code. A bad entry is a system
    # check error (toolbox_realtime.E040-E047), never a failure at the first save.
    "MODELS": {},
    # False: registered models broadcast nothing (saves work as usual); per block:
    # broadcasts.without_broadcasting().
    "BROADCAST_ENABLED": True,
    # Several saves of one object in one transaction send one event with the final
    # state (a registration's `coalesce` option wins); False: one event per save.
    "COALESCE": True,
    # --- delivery of published events (see docs/delivery.md) ---------------------
    # "outbox": a row per event and channel in the caller's transaction, sent after
    # commit, retried by `manage.py realtime_deliver`; "immediate": sent after commit
    # from memory, a failure is logged and lost; "celery" (extra [celery]): rows as
    # in "outbox", sent by the task django_toolbox_realtime.deliver after commit.
    "DELIVERY": "outbox",
    # Celery mode: the dotted path of your Celery app (None: Celery's current app,
    # which in a thread other than the one that created your app is Celery's own
    # default app), and the queue of the tasks (None: your app's default queue).
    "CELERY_APP": None,
    "CELERY_QUEUE": None,
    # The first try after commit: "background" (a thread of the process; in-memory
    # backends are sent at once), "inline" (in the committing thread: the request
    # waits up to TIMEOUT), "off" (outbox rows wait for realtime_deliver).
    "FIRST_ATTEMPT": "background",
    # Tries of an event before it is dead-lettered (5xx, timeouts, refused).
    "MAX_ATTEMPTS": 50,
    # Retry n waits a random time between 0 and min(RETRY_MAX, RETRY_BASE * 2**(n-1)).
    "RETRY_BASE_SECONDS": 1,
    "RETRY_MAX_SECONDS": 60,
    # Seconds realtime_deliver sleeps when nothing is due (it wakes at once to stop).
    "WORKER_POLL_SECONDS": 1,
    # realtime_deliver leaves events younger than this to their first try.
    "FIRST_ATTEMPT_GRACE_SECONDS": 2,
    # Sent events kept as history: at most this many per channel, for this long.
    "HISTORY_MAX_PER_CHANNEL": 100,
    "HISTORY_MAX_AGE_SECONDS": 86_400,
    # GET history: the most events in one page (the default `limit`; more is a 400).
    "HISTORY_PAGE_MAX": 100,
    # Health's delivery check, (warning, error) thresholds: events waiting, age in
    # seconds of the oldest one waiting, events refused or dead-lettered.
    "HEALTH_DELIVERY_PENDING": (1_000, 10_000),
    "HEALTH_DELIVERY_AGE_SECONDS": (60, 600),
    "HEALTH_DELIVERY_FAILED": (1, 100),
}

# Settings whose value is a dotted path imported on access.
IMPORT_STRINGS = {"ROLE_RESOLVER", "PRESENCE_USER_INFO", "CELERY_APP"}
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
