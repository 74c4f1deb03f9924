"""Channel authorization: the role hierarchy, the policy cache, the stored policies
(E010-E012, W010-W014), a shared policy cache (W013) and token login (W015)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError

from ..authorization import authorizers
from ..authorization.policy_rules import (
    PUBLIC_CHANNEL,
    UNBOUND_USER_HINT,
    channel_problem,
    role_problem,
    unbound_user_problem,
)
from ..authorization.roles import is_valid_hierarchy
from ..conf import realtime_settings
from ..models import ChannelPolicy
from ..validation import is_number
from .ids import check_id, setting


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
                f"{setting('ROLE_HIERARCHY')} must map role names to integer "
                "levels, e.g. {'student': 1, 'teacher': 2, 'admin': 3}.",
                id=check_id(10),
            )
        )
    alias = realtime_settings.raw("POLICY_CACHE")
    if alias not in django_settings.CACHES:
        errors.append(
            Error(
                f"{setting('POLICY_CACHE')} = {alias!r} is not in settings.CACHES.",
                id=check_id(11),
            )
        )
    max_age = realtime_settings.raw("POLICY_CACHE_MAX_AGE")
    if not is_number(max_age) or max_age < 0:
        errors.append(
            Error(
                f"{setting('POLICY_CACHE_MAX_AGE')} must be a number of seconds (0 or more).",
                id=check_id(12),
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
        id=check_id(14, "W"),
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
                    id=check_id(14, "W"),
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
            id=check_id(11, "W"),
        )
    if problem is not None and problem.code == PUBLIC_CHANNEL:
        return Warning(
            f"Channel policy #{policy.pk} demands role {policy.min_role!r} on the public "
            f"channel name {policy.channel!r}: Pusher cannot enforce it (anyone may "
            "subscribe to a public channel without a signature).",
            hint="Rename the channel with a private- or presence- prefix, or delete the policy.",
            obj=policy,
            id=check_id(10, "W"),
        )
    if is_valid_hierarchy(hierarchy) and hierarchy and role_problem(policy.min_role, hierarchy):
        return Warning(
            f"Channel policy #{policy.pk} {policy.channel!r} requires "
            f"role {policy.min_role!r}, which is not in "
            f"{setting('ROLE_HIERARCHY')}: it allows nobody.",
            obj=policy,
            id=check_id(12, "W"),
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
                f"{setting('POLICY_CACHE')} = {alias!r} is a per-process cache ({backend}): with "
                "several server processes a policy edit reaches the others only after "
                f"{setting('POLICY_CACHE_MAX_AGE')} seconds.",
                hint="Use a shared cache (Redis, Memcached, database) for that alias.",
                id=check_id(13, "W"),
            )
        ]
    return []


@register(Tags.security)
def check_token_authentication(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Token login (``BearerTokenAuthentication``) needs DRF's ``authtoken`` app."""
    paths = realtime_settings.raw("AUTHENTICATION_CLASSES") or []
    uses_tokens = any(str(path).endswith(".BearerTokenAuthentication") for path in paths)
    if not uses_tokens or apps.is_installed("rest_framework.authtoken"):
        return []
    return [
        Warning(
            f"{setting('AUTHENTICATION_CLASSES')} includes BearerTokenAuthentication, but "
            "'rest_framework.authtoken' is not in INSTALLED_APPS: every "
            "'Authorization: Bearer' request is refused.",
            hint="Add 'rest_framework.authtoken' to INSTALLED_APPS and migrate, or remove "
            "the class from AUTHENTICATION_CLASSES.",
            id=check_id(15, "W"),
        )
    ]
