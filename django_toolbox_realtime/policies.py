"""The policy engine: match a channel, decide, and say why. Default deny.

``decide(user, channel)`` signs nothing; it answers whether ``user`` may subscribe
to ``channel`` and why (:class:`Decision`). A subscription is allowed only when

1. the channel is private, private-encrypted or presence (public channels and
   ``#server-to-user-`` are never signed),
2. the user is signed in and active,
3. a :class:`~django_toolbox_realtime.models.ChannelPolicy` matches (the most
   specific one: exact names win over patterns), is active, the user's role is at
   least its ``min_role`` and, when it names groups, the user is in one of them,
4. and, if a code authorizer matches (:mod:`django_toolbox_realtime.authorizers`),
   it returns True or a dict.

Policies are compiled into an in-process matcher, and users' groups are cached.
A version key in Django's cache (``POLICY_CACHE``, see :mod:`.authz_cache`) is
bumped whenever a policy, a group or a user's groups change; every process compares
it on each decision (a cache read, no database query) and rebuilds when it changed.
With a shared cache (Redis, Memcached, database) an admin edit applies on the next
request everywhere; with a per-process cache (locmem) other processes see it at the
latest after ``POLICY_CACHE_MAX_AGE`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Count
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from . import authorizers
from .authz_cache import VERSION_KEY, bump_now_and_after_commit, current_version, max_age
from .authz_cache import bump_version as _bump_shared_version
from .conf import on_reload
from .exceptions import RealtimeValidationError
from .models import ChannelPolicy
from .patterns import ChannelPattern, PatternIndex, compile_pattern
from .roles import prime_groups, role_level, user_groups, user_role
from .validation import SIGNED_KINDS, channel_kind, validate_channel_name

logger = logging.getLogger("django_toolbox_realtime.policies")

__all__ = ["VERSION_KEY", "Decision", "PolicyRule", "bump_version", "current_version", "decide"]


@dataclass(frozen=True)
class PolicyRule:
    """An immutable snapshot of one ChannelPolicy row, as the matcher uses it."""

    id: int
    pattern: ChannelPattern
    min_role: str
    group_ids: frozenset[int]
    group_names: tuple[str, ...]
    is_active: bool

    @property
    def channel(self) -> str:
        return self.pattern.source

    def __str__(self) -> str:
        return f"policy #{self.id} {self.channel!r}"


@dataclass(frozen=True)
class Decision:
    """The answer of :func:`decide`. Truthy when allowed.

    ``code`` is a stable machine-readable reason (``allowed``, ``invalid_channel``,
    ``public_channel``, ``not_authenticated``, ``no_policy``, ``policy_inactive``,
    ``policy_role_unknown``, ``no_role``, ``role_too_low``, ``group_required``,
    ``authorizer_denied``, ``authorizer_error``); ``reason`` says it in words.
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


class Matcher:
    """All policies, compiled; immutable once built."""

    def __init__(self, rules: list[PolicyRule], version: str | None) -> None:
        self.index = PatternIndex([(rule.pattern, rule) for rule in rules])
        self.version = version
        self.built_at = time.monotonic()

    def find(self, channel: str) -> tuple[PolicyRule, dict[str, str]] | None:
        found = self.index.find(channel)
        return (found[1], found[2]) if found else None


_matcher: Matcher | None = None
_lock = threading.Lock()


def load_rules() -> list[PolicyRule]:
    """Every policy row (active or not) compiled; 2 queries."""
    rules = []
    queryset = ChannelPolicy.objects.prefetch_related("allowed_groups").order_by("pk")
    for policy in queryset:
        try:
            pattern = compile_pattern(policy.channel)
        except RealtimeValidationError as exc:
            # Saved around the admin form (shell, fixture): it matches nothing.
            logger.error("Ignoring policy #%s: %s", policy.pk, exc)
            continue
        groups = list(policy.allowed_groups.all())
        rules.append(
            PolicyRule(
                id=policy.pk,
                pattern=pattern,
                min_role=policy.min_role,
                group_ids=frozenset(g.pk for g in groups),
                group_names=tuple(sorted(g.name for g in groups)),
                is_active=policy.is_active,
            )
        )
    return rules


_UNKNOWN = object()


def get_matcher(version: Any = _UNKNOWN) -> Matcher:
    """The compiled policies: rebuilt when the shared version (read now unless given)
    moved or the local copy is older than ``POLICY_CACHE_MAX_AGE`` seconds."""
    global _matcher
    if version is _UNKNOWN:
        version = current_version()
    age = max_age()
    matcher = _matcher
    if _fresh(matcher, version, age):
        return matcher  # type: ignore[return-value]
    with _lock:
        matcher = _matcher
        if _fresh(matcher, version, age):
            return matcher  # type: ignore[return-value]
        # The version is read before the rows: a bump during the load leaves this
        # matcher with the old version, so the next request rebuilds again.
        matcher = Matcher(load_rules(), version)
        _matcher = matcher
        return matcher


def _fresh(matcher: Matcher | None, version: str | None, max_age: float) -> bool:
    return (
        matcher is not None
        and version is not None
        and matcher.version == version
        and time.monotonic() - matcher.built_at < max_age
    )


def bump_version() -> None:
    """Invalidate every process's compiled policies and cached groups. Saves, deletes
    and ChannelPolicy's bulk QuerySet methods bump on their own; call this after
    writes that Django cannot see (raw SQL, bulk writes to ``Group`` or to the
    membership tables)."""
    global _matcher
    _matcher = None
    _bump_shared_version()


@on_reload
def reset() -> None:
    """Forget this process's compiled policies (settings changed)."""
    global _matcher
    _matcher = None


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
    if kind not in SIGNED_KINDS:
        return _deny(
            "public_channel",
            "Public channels cannot be access-controlled: "
            "anyone may subscribe without a signature, so none is given.",
            name,
            kind=kind,
        )
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or not getattr(user, "is_active", True)
    ):
        return _deny(
            "not_authenticated", "Not signed in (or the account is inactive).", name, kind=kind
        )
    # One cache read for both the policies and this user's groups kept in memory.
    version = current_version()
    prime_groups(user, version)
    matched = get_matcher(version).find(name)
    role = user_role(user)
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
    if not policy.is_active:
        return _deny("policy_inactive", f"{policy} is inactive: it allows nothing.", name, **common)
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
            f"The user {what}; {policy} requires {policy.min_role!r} or higher.",
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
    if policy.group_ids and not policy.group_ids & {gid for gid, _ in user_groups(user)}:
        return _deny(
            "group_required",
            f"{policy} requires membership of one of: {', '.join(policy.group_names)}.",
            name,
            **common,
        )
    found = authorizers.find(name)
    if found is None:
        return Decision(
            allowed=True, code="allowed", reason=f"Allowed by {policy}.", channel=name, **common
        )
    authorizer, auth_params = found
    common.update(authorizer=authorizer, params={**params, **auth_params})
    return _run_authorizer(user, name, authorizer, auth_params, common)


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
    if answer is True:
        return Decision(
            allowed=True,
            code="allowed",
            reason=f"Allowed by {common['policy']} and authorizer {authorizer.name}.",
            channel=name,
            **common,
        )
    if isinstance(answer, dict):
        return Decision(
            allowed=True,
            code="allowed",
            reason=f"Allowed by {common['policy']} and authorizer {authorizer.name}.",
            channel=name,
            user_info=dict(answer),
            **common,
        )
    if answer not in (False, None):
        logger.warning(
            "Authorizer %s returned %s; only True or a dict allow.",
            authorizer.name,
            type(answer).__name__,
        )
    return _deny("authorizer_denied", f"Authorizer {authorizer.name} refused.", name, **common)


# --- invalidation ------------------------------------------------------------------


def _changed(**kwargs: Any) -> None:
    if kwargs.get("raw"):
        return  # loaddata: rows may be incomplete; the commit bump covers it
    reset()
    bump_now_and_after_commit()


def _m2m_changed(action: str = "", **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        _changed()


def _group_deleted(instance: Group, **kwargs: Any) -> None:
    # A policy limited to this group alone would silently become open to every user
    # with the role once the group is gone: deactivate it instead (fail closed).
    # (Annotated before filtering on the group, so the count covers all its groups.)
    lonely = list(
        ChannelPolicy.objects.annotate(group_count=Count("allowed_groups"))
        .filter(allowed_groups=instance, is_active=True, group_count=1)
        .order_by("pk")
    )
    for policy in lonely:
        logger.warning(
            "Group %r deleted: deactivating %s, which allowed only that group.",
            instance.name,
            policy,
        )
    if lonely:
        ChannelPolicy.objects.filter(pk__in=[p.pk for p in lonely]).update(is_active=False)
    _changed()


def connect_receivers() -> None:
    """Bump the authorization version whenever policies, groups or a user's groups
    change (from AppConfig.ready())."""
    post_save.connect(_changed, sender=ChannelPolicy, dispatch_uid="trt_policy_saved")
    post_delete.connect(_changed, sender=ChannelPolicy, dispatch_uid="trt_policy_deleted")
    m2m_changed.connect(
        _m2m_changed, sender=ChannelPolicy.allowed_groups.through, dispatch_uid="trt_policy_groups"
    )
    # A renamed group can change a role; a deleted one changes memberships.
    post_save.connect(_changed, sender=Group, dispatch_uid="trt_group_saved")
    pre_delete.connect(_group_deleted, sender=Group, dispatch_uid="trt_group_deleted")
    user_groups_field = getattr(get_user_model(), "groups", None)
    through = getattr(user_groups_field, "through", None)
    if through is not None:
        m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid="trt_user_groups")
