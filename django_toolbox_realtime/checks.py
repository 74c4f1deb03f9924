"""System checks: configuration mistakes reported by ``manage.py check`` at startup.

IDs: ``toolbox_realtime.E001``... errors, ``toolbox_realtime.W001``... warnings.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

from .conf import (
    SETTINGS_NAME,
    decode_master_key,
    is_placeholder_secret,
    realtime_settings,
)
from .exceptions import RealtimeConfigurationError


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
    if secret and is_placeholder_secret(secret):
        errors.append(
            Error(
                f"{_setting('SECRET')} is a placeholder, not a real secret.",
                hint="Copy the app secret from your Pusher dashboard or soketi configuration.",
                id=_id(3),
            )
        )
    master = s.raw("ENCRYPTION_MASTER_KEY_BASE64")
    if master and decode_master_key(master) is None:
        errors.append(
            Error(
                f"{_setting('ENCRYPTION_MASTER_KEY_BASE64')} must be 32 random bytes, "
                "base64-encoded.",
                hint='Generate one with: python -c "import os, base64; '
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


# --- channel authorization ---------------------------------------------------------


@register(Tags.security)
def check_channel_authorization(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Any]:
    """Authorization settings, and (when run with a database, e.g. by ``migrate`` or
    ``check --database default``) the stored policies: a role rule on a public
    channel name cannot be enforced by Pusher, so it is reported, not pretended."""
    from django.conf import settings as django_settings

    errors: list[Any] = []
    s = realtime_settings
    hierarchy = s.raw("ROLE_HIERARCHY")
    if not isinstance(hierarchy, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in hierarchy.items()
    ):
        errors.append(
            Error(
                f"{_setting('ROLE_HIERARCHY')} must map role names to integer "
                "levels, e.g. {'student': 1, 'teacher': 2, 'admin': 3}.",
                id=_id(10),
            )
        )
        hierarchy = {}
    alias = s.raw("POLICY_CACHE")
    if alias not in django_settings.CACHES:
        errors.append(
            Error(f"{_setting('POLICY_CACHE')} = {alias!r} is not in settings.CACHES.", id=_id(11))
        )
    max_age = s.raw("POLICY_CACHE_MAX_AGE")
    if not isinstance(max_age, int | float) or isinstance(max_age, bool) or max_age < 0:
        errors.append(
            Error(
                f"{_setting('POLICY_CACHE_MAX_AGE')} must be a number of seconds (0 or more).",
                id=_id(12),
            )
        )
    if not databases:
        return errors
    from django.db import DatabaseError

    from .exceptions import RealtimeValidationError
    from .models import ChannelPolicy
    from .patterns import compile_pattern
    from .validation import SIGNED_KINDS

    try:
        policies = list(ChannelPolicy.objects.using(databases[0]).filter(is_active=True))
    except DatabaseError:  # not migrated yet
        return errors
    for policy in policies:
        try:
            kind = compile_pattern(policy.channel).kind
        except RealtimeValidationError as exc:
            errors.append(
                Warning(
                    f"Channel policy #{policy.pk} {policy.channel!r} is not a "
                    f"valid channel name or pattern: it matches nothing. {exc}",
                    obj=policy,
                    id=_id(11, "W"),
                )
            )
            continue
        if kind not in SIGNED_KINDS:
            errors.append(
                Warning(
                    f"Channel policy #{policy.pk} demands role {policy.min_role!r} on the public "
                    f"channel name {policy.channel!r}: Pusher cannot enforce it (anyone may "
                    "subscribe to a public channel without a signature).",
                    hint="Rename the channel with a private- or presence- prefix, or delete the "
                    "policy.",
                    obj=policy,
                    id=_id(10, "W"),
                )
            )
        elif hierarchy and policy.min_role not in hierarchy:
            errors.append(
                Warning(
                    f"Channel policy #{policy.pk} {policy.channel!r} requires "
                    f"role {policy.min_role!r}, which is not in "
                    f"{_setting('ROLE_HIERARCHY')}: it allows nobody.",
                    obj=policy,
                    id=_id(12, "W"),
                )
            )
    return errors


@register(Tags.security, deploy=True)
def check_policy_cache_shared(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """A per-process cache cannot tell other processes that a policy changed."""
    from django.conf import settings as django_settings

    alias = realtime_settings.raw("POLICY_CACHE")
    backend = str(django_settings.CACHES.get(alias, {}).get("BACKEND", ""))
    if backend.endswith(("LocMemCache", "DummyCache")):
        return [
            Warning(
                f"{_setting('POLICY_CACHE')} = {alias!r} is a per-process cache ({backend}): with "
                "several server processes a policy edit reaches the others only after "
                f"{_setting('POLICY_CACHE_MAX_AGE')} seconds.",
                hint="Use a shared cache (Redis, Memcached, database) for that alias.",
                id=_id(13, "W"),
            )
        ]
    return []
