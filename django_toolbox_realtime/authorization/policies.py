"""The policy engine: match a channel, decide, and say why. Default deny.

``decide(user, channel)`` signs nothing; it answers whether ``user`` may subscribe
to ``channel`` and why (:class:`Decision`). A subscription is allowed only when

1. the channel is private, private-encrypted or presence (public channels and
   ``#server-to-user-`` are never signed),
2. the user is signed in and active,
3. a :class:`~django_toolbox_realtime.models.ChannelPolicy` matches (the most
   specific one: exact names win over patterns), is active, the user's role is at
   least its ``min_role``, when it names groups, the user is in one of them, and a
   reserved ``{user}`` placeholder holds the user's own id (:mod:`.owner`),
4. and, if a code authorizer matches (:mod:`.authorizers`), its own ``{user}``
   holds the user's id and it returns True or a dict.

Policies are compiled into an in-process matcher (``matcher``), and users' groups
are cached (``groups``). A version key in Django's cache (``POLICY_CACHE``, see
``version``) is bumped whenever a policy, a group or a user's groups change; every process compares
it on each decision (a cache read, no database query) and rebuilds when it changed.
With a shared cache (Redis, Memcached, database) an admin edit applies on the next
request everywhere; with a per-process cache (locmem) other processes see it at the
latest after ``POLICY_CACHE_MAX_AGE`` seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError

from ..exceptions import RealtimeValidationError
from ..validation import SIGNED_KINDS, channel_kind, validate_channel_name
from . import authorizers
from .groups import prime_groups, user_groups
from .matcher import PolicyRule, get_matcher
from .owner import not_owner_reason, without_user
from .roles import role_level, role_source, user_role
from .version import current_version

logger = logging.getLogger("django_toolbox_realtime.policies")

__all__ = ["Decision", "decide"]


@dataclass(frozen=True)
class Decision:
    """The answer of :func:`decide`. Truthy when allowed.

    ``code`` is a stable machine-readable reason (``allowed``, ``invalid_channel``,
    ``public_channel``, ``not_authenticated``, ``no_policy``, ``policy_inactive``,
    ``policy_role_unknown``, ``no_role``, ``role_too_low``, ``group_required``,
    ``not_owner``, ``authorizer_denied``, ``authorizer_error``); ``reason`` says
    it in words.
    """

    allowed: bool
    code: str
    reason: str
    channel: str
    kind: str = ""
    policy: PolicyRule | None = None
    authorizer: authorizers.Authorizer | None = None
    required_role: str | None = None
    user_role: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    # What the authorizer returned as a dict (merged into presence user_info).
    user_info: dict[str, Any] | None = None

    def __bool__(self) -> bool:
        return self.allowed


def _deny(code: str, reason: str, channel: str, **extra: Any) -> Decision:
    return Decision(allowed=False, code=code, reason=reason, channel=channel, **extra)


def decide(user: Any, channel: Any) -> Decision:
    """May ``user`` subscribe to ``channel``? Returns the :class:`Decision` and why.

    Never raises for bad input (an invalid name is a denial); raises
    RealtimeConfigurationError for broken settings.
    """
    try:
        name = validate_channel_name(channel)
    except RealtimeValidationError as exc:
        return _deny("invalid_channel", str(exc), str(channel)[:200])
    kind = channel_kind(name)
    # Not ``a or b``: a Decision is falsy when it denies.
    denial = _refuse_unsigned_kind(name, kind)
    if denial is None:
        denial = _refuse_signed_out(user, name, kind)
    if denial is not None:
        return denial
    matched, role = _find_policy(user, name)
    if matched is None:
        return _deny(
            "no_policy",
            "No channel policy matches this channel (default deny).",
            name,
            kind=kind,
            user_role=role,
        )
    policy, params = matched
    common: dict[str, Any] = {
        "kind": kind,
        "policy": policy,
        "params": params,
        "required_role": policy.min_role,
        "user_role": role,
    }
    denial = _refuse_by_policy(user, name, policy, role, common)
    if denial is not None:
        return denial
    return _apply_authorizer(user, name, params, common)


def _refuse_unsigned_kind(name: str, kind: str) -> Decision | None:
    """Deny channels that are never signed (public, ``#server-to-user-``)."""
    if kind not in SIGNED_KINDS:
        return _deny(
            "public_channel",
            "Public channels cannot be access-controlled: "
            "anyone may subscribe without a signature, so none is given.",
            name,
            kind=kind,
        )
    return None


def _refuse_signed_out(user: Any, name: str, kind: str) -> Decision | None:
    """Deny anonymous users and inactive accounts."""
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or not getattr(user, "is_active", True)
    ):
        return _deny(
            "not_authenticated", "Not signed in (or the account is inactive).", name, kind=kind
        )
    return None


def _find_policy(
    user: Any, name: str
) -> tuple[tuple[PolicyRule, dict[str, str]] | None, str | None]:
    """The policy matching ``name`` (with its placeholder values) and the user's role."""
    # One cache read for both the policies and this user's groups kept in memory.
    version = current_version()
    prime_groups(user, version)
    matched = get_matcher(version).find(name)
    return matched, user_role(user)


def _refuse_by_policy(
    user: Any, name: str, policy: PolicyRule, role: str | None, common: dict[str, Any]
) -> Decision | None:
    """Deny when ``policy`` is inactive, or the user's role or groups fall short of it."""
    if not policy.is_active:
        return _deny("policy_inactive", f"{policy} is inactive: it allows nothing.", name, **common)
    denial = _refuse_by_role(name, policy, role, common)
    if denial is not None:
        return denial
    if policy.group_ids and not policy.group_ids & {gid for gid, _ in user_groups(user)}:
        return _deny(
            "group_required",
            f"{policy} requires membership of one of: {', '.join(policy.group_names)}.",
            name,
            **common,
        )
    reason = not_owner_reason(user, common["params"], policy)
    if reason is not None:
        return _deny("not_owner", reason, name, **common)
    return None


def _refuse_by_role(
    name: str, policy: PolicyRule, role: str | None, common: dict[str, Any]
) -> Decision | None:
    """Deny when either role is unknown to ROLE_HIERARCHY or the user's is too low."""
    needed = role_level(policy.min_role)
    if needed is None:
        return _deny(
            "policy_role_unknown",
            f"{policy} requires role {policy.min_role!r}, which is not in ROLE_HIERARCHY.",
            name,
            **common,
        )
    have = role_level(role)
    if have is None:
        what = f"role {role!r} is not in ROLE_HIERARCHY" if role else "has no role"
        return _deny(
            "no_role",
            f"The user {what}; {policy} requires {policy.min_role!r} or higher. " + role_source(),
            name,
            **common,
        )
    if have < needed:
        return _deny(
            "role_too_low",
            f"Role {role!r} is below {policy.min_role!r}, required by {policy}.",
            name,
            **common,
        )
    return None


def _apply_authorizer(
    user: Any, name: str, params: dict[str, str], common: dict[str, Any]
) -> Decision:
    """Allow by the policy alone, or ask the code authorizer matching ``name``."""
    found = authorizers.find(name)
    if found is None:
        return Decision(
            allowed=True,
            code="allowed",
            reason=f"Allowed by {common['policy']}.",
            channel=name,
            **common,
        )
    authorizer, auth_params = found
    common.update(authorizer=authorizer, params={**params, **auth_params})
    reason = not_owner_reason(user, auth_params, f"authorizer {authorizer}")
    if reason is not None:
        return _deny("not_owner", reason, name, **common)
    return _run_authorizer(user, name, authorizer, without_user(auth_params), common)


def _run_authorizer(
    user: Any,
    name: str,
    authorizer: authorizers.Authorizer,
    params: dict[str, str],
    common: dict[str, Any],
) -> Decision:
    try:
        answer = authorizer.func(user, **params)
    except (ObjectDoesNotExist, ValidationError, ValueError) as exc:
        logger.debug("Authorizer %s refused %r: %r", authorizer.name, name, exc)
        return _deny(
            "authorizer_denied",
            f"Authorizer {authorizer.name} refused ({type(exc).__name__}).",
            name,
            **common,
        )
    except Exception:
        logger.exception("Authorizer %s failed for %r: denied.", authorizer.name, name)
        return _deny(
            "authorizer_error",
            f"Authorizer {authorizer.name} raised an error (see the logs): denied.",
            name,
            **common,
        )
    if answer is True or isinstance(answer, dict):
        return Decision(
            allowed=True,
            code="allowed",
            reason=f"Allowed by {common['policy']} and authorizer {authorizer.name}.",
            channel=name,
            user_info=dict(answer) if isinstance(answer, dict) else None,
            **common,
        )
    if answer not in (False, None):
        logger.warning(
            "Authorizer %s returned %s; only True or a dict allow.",
            authorizer.name,
            type(answer).__name__,
        )
    return _deny("authorizer_denied", f"Authorizer {authorizer.name} refused.", name, **common)
