"""The compiled policies: every ChannelPolicy row as an immutable rule in one
pattern index, rebuilt when the policy version moved.

Each process keeps one :class:`Matcher`, tagged with the policy version
(``version``) it was built at; a decision compares that tag with the shared
version (one cache read) and rebuilds on a change, or when the copy is older than
``POLICY_CACHE_MAX_AGE`` seconds (the staleness bound of a per-process cache).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..conf import on_reload
from ..exceptions import RealtimeValidationError
from ..models import ChannelPolicy
from .patterns import ChannelPattern, PatternIndex, compile_pattern
from .version import current_version, max_age, publish_new_version

logger = logging.getLogger("django_toolbox_realtime.policies")


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


def bump_policy_version() -> None:
    """Invalidate every process's compiled policies and cached groups. Saves, deletes
    and ChannelPolicy's bulk QuerySet methods bump on their own; call this after
    writes that Django cannot see (raw SQL, bulk writes to ``Group`` or to the
    membership tables)."""
    global _matcher
    _matcher = None
    publish_new_version()


@on_reload
def reset() -> None:
    """Forget this process's compiled policies (settings changed)."""
    global _matcher
    _matcher = None
