"""System checks: configuration mistakes reported by ``manage.py check`` at startup.

IDs: ``toolbox_realtime.E001``... errors, ``toolbox_realtime.W001``... warnings.
Each check asks the same function the runtime uses (credentials, role hierarchy,
policy rules), so a check and the code it guards cannot disagree.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError
from django.utils.module_loading import import_string

from .authorization import authorizers
from .authorization.policy_rules import (
    PUBLIC_CHANNEL,
    UNBOUND_USER_HINT,
    channel_problem,
    role_problem,
    unbound_user_problem,
)
from .authorization.roles import is_valid_hierarchy
from .bridge import registry as broadcast_registry
from .conf import SETTINGS_NAME, realtime_settings
from .credentials import credential_problems
from .crypto import decode_master_key
from .delivery import options as delivery_options
from .exceptions import RealtimeConfigurationError
from .health import settings_checks
from .models import ChannelPolicy
from .validation import is_number

#: The ids of credential problems, by the setting they are about.
_CREDENTIAL_IDS = {"APP_ID": 2, "SECRET": 3}


def _id(n: int, kind: str = "E") -> str:
    return f"toolbox_realtime.{kind}{n:03d}"


def _setting(name: str) -> str:
    return f"{SETTINGS_NAME}['{name}']"


# --- delivery settings ---------------------------------------------------------------


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        realtime_settings.user_settings  # noqa: B018  (parses URL; raises on a malformed one)
    except RealtimeConfigurationError as exc:
        return [Error(str(exc), id=_id(9))]
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
                f"{_setting('BACKEND')} = {path!r} cannot be imported.",
                hint="Use django_toolbox_realtime.backends.pusher.PusherBackend, "
                "...locmem.LocmemBackend, ...log.LogBackend or ...null.NullBackend.",
                id=_id(7),
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
                        hint=f"Set it (or {_setting('URL')}), "
                        f"or set {_setting('ENABLED')} = False.",
                        id=_id(1),
                    )
                )
        elif problem.setting == "SECRET":
            errors.append(
                Error(
                    problem.message,
                    hint="Copy the app secret from your Pusher dashboard or soketi "
                    "configuration.",
                    id=_id(_CREDENTIAL_IDS["SECRET"]),
                )
            )
        else:
            errors.append(Error(problem.message, id=_id(_CREDENTIAL_IDS[problem.setting])))
    return errors


def _encryption_errors() -> list[CheckMessage]:
    master = realtime_settings.raw("ENCRYPTION_MASTER_KEY_BASE64")
    if master and decode_master_key(master) is None:
        return [
            Error(
                f"{_setting('ENCRYPTION_MASTER_KEY_BASE64')} must be 32 random bytes, "
                "base64-encoded.",
                hint='Generate one with: python -c "import os, base64; '
                'print(base64.b64encode(os.urandom(32)).decode())"',
                id=_id(4),
            )
        ]
    return []


def _transport_errors() -> list[CheckMessage]:
    s = realtime_settings
    errors: list[CheckMessage] = []
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
    if not is_number(timeout) or timeout <= 0:
        errors.append(
            Error(f"{_setting('TIMEOUT')} must be a positive number of seconds.", id=_id(6))
        )
    return errors


@register(Tags.security)
def check_health_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """HEALTH_TOKEN, the noise and cap settings, and whether usage counts are shared
    by every process (E020-E022, W020; see ``health.settings_checks``)."""
    return settings_checks.messages()


@register(Tags.compatibility)
def check_delivery_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """DELIVERY, FIRST_ATTEMPT, retries, history, thresholds (E030-E033)."""
    return [
        Error(p.message, hint=p.hint or None, id=_id(p.number))
        for p in delivery_options.problems()
    ]


# --- channel authorization ---------------------------------------------------------


@register(Tags.security)
def check_channel_authorization(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Authorization settings, and (when run with a database, e.g. by ``migrate`` or
    ``check --database default``) the stored policies: a role rule on a public
    channel name cannot be enforced by Pusher, so it is reported, not pretended."""
    hierarchy = realtime_settings.raw("ROLE_HIERARCHY")
    errors = _authorization_setting_errors(hierarchy) + _unbound_user_warnings()
    if databases:
        errors += _stored_policy_warnings(databases[0], hierarchy)
    return errors


def _authorization_setting_errors(hierarchy: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if not is_valid_hierarchy(hierarchy):
        errors.append(
            Error(
                f"{_setting('ROLE_HIERARCHY')} must map role names to integer "
                "levels, e.g. {'student': 1, 'teacher': 2, 'admin': 3}.",
                id=_id(10),
            )
        )
    alias = realtime_settings.raw("POLICY_CACHE")
    if alias not in django_settings.CACHES:
        errors.append(
            Error(f"{_setting('POLICY_CACHE')} = {alias!r} is not in settings.CACHES.", id=_id(11))
        )
    max_age = realtime_settings.raw("POLICY_CACHE_MAX_AGE")
    if not is_number(max_age) or max_age < 0:
        errors.append(
            Error(
                f"{_setting('POLICY_CACHE_MAX_AGE')} must be a number of seconds (0 or more).",
                id=_id(12),
            )
        )
    return errors


def _stored_policy_warnings(database: str, hierarchy: Any) -> list[CheckMessage]:
    try:
        policies = list(ChannelPolicy.objects.using(database).filter(is_active=True))
    except DatabaseError:  # not migrated yet
        return []
    warnings = [_policy_warning(policy, hierarchy) for policy in policies]
    warnings += [_unbound_user_warning(policy) for policy in policies]
    return [warning for warning in warnings if warning is not None]


def _unbound_user_warning(policy: ChannelPolicy) -> CheckMessage | None:
    pattern = channel_problem(policy.channel)[0]
    problem = unbound_user_problem(pattern) if pattern is not None else None
    if problem is None:
        return None
    return Warning(
        f"Channel policy #{policy.pk} ({policy.min_role}+): {problem.message}",
        hint=UNBOUND_USER_HINT,
        obj=policy,
        id=_id(14, "W"),
    )


def _unbound_user_warnings() -> list[CheckMessage]:
    """W014 for code authorizers: a user-like placeholder not bound to the user."""
    warnings: list[CheckMessage] = []
    for authorizer in authorizers.registered():
        problem = unbound_user_problem(authorizer.pattern)
        if problem is not None:
            warnings.append(
                Warning(
                    f"Authorizer {authorizer.name}: {problem.message} (Fine if the "
                    "function compares the value with the user itself.)",
                    hint=UNBOUND_USER_HINT,
                    id=_id(14, "W"),
                )
            )
    return warnings


def _policy_warning(policy: ChannelPolicy, hierarchy: Any) -> CheckMessage | None:
    pattern, problem = channel_problem(policy.channel)
    if pattern is None and problem is not None:
        return Warning(
            f"Channel policy #{policy.pk} {policy.channel!r} is not a "
            f"valid channel name or pattern: it matches nothing. {problem.message}",
            obj=policy,
            id=_id(11, "W"),
        )
    if problem is not None and problem.code == PUBLIC_CHANNEL:
        return Warning(
            f"Channel policy #{policy.pk} demands role {policy.min_role!r} on the public "
            f"channel name {policy.channel!r}: Pusher cannot enforce it (anyone may "
            "subscribe to a public channel without a signature).",
            hint="Rename the channel with a private- or presence- prefix, or delete the "
            "policy.",
            obj=policy,
            id=_id(10, "W"),
        )
    if is_valid_hierarchy(hierarchy) and hierarchy and role_problem(policy.min_role, hierarchy):
        return Warning(
            f"Channel policy #{policy.pk} {policy.channel!r} requires "
            f"role {policy.min_role!r}, which is not in "
            f"{_setting('ROLE_HIERARCHY')}: it allows nobody.",
            obj=policy,
            id=_id(12, "W"),
        )
    return None


@register(Tags.security, deploy=True)
def check_policy_cache_shared(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A per-process cache cannot tell other processes that a policy changed."""
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


@register(Tags.compatibility)
def check_broadcasts(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E040-E047, W040: registered models and TOOLBOX_REALTIME['MODELS'] (bridge/checks.py)."""
    return broadcast_registry.check_messages()
