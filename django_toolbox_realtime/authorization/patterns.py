"""Channel name patterns with named placeholders: ``presence-classroom-{id}``.

Shared by admin-managed policies and code-registered authorizers. A pattern is
anchored on both ends; a placeholder matches one or more of
``A-Z a-z 0-9 _ = @ , ;`` and never ``-`` or ``.``, so ``presence-classroom-{id}``
matches ``presence-classroom-101`` but not ``presence-classroom-1-extra``,
``presence-classroom-1.2`` or ``xpresence-classroom-1``.

One placeholder name is reserved: ``{user}`` (:data:`USER_PLACEHOLDER`) matches
like any other, and the policy engine then requires its value to be the
requesting user's own id (``private-user-{user}``: each user's own channel only).
Other names that look like a user id (``{user_id}``, ``{uid}``, ``{owner}``...) are
not bound: :func:`unbound_user_placeholders` finds them for a system check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import RealtimeValidationError
from ..validation import SIGNED_KINDS, channel_kind, validate_channel_name

# What one placeholder may match: channel characters minus the separators - and .
PLACEHOLDER_VALUE = r"[A-Za-z0-9_=@,;]+"
_PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: The reserved placeholder bound to the requesting user's id (exactly this spelling).
USER_PLACEHOLDER = "user"
# Placeholder names, lower-cased without underscores, that suggest a user's id.
_USER_LIKE = frozenset({"user", "userid", "userpk", "uid", "owner", "ownerid", "ownerpk"})


@dataclass(frozen=True)
class ChannelPattern:
    """A compiled channel name or pattern."""

    source: str
    kind: str  # "private", "encrypted", "presence", "public" or "user"
    placeholders: tuple[str, ...]
    literal_prefix: str  # the text before the first placeholder (all of it if none)
    regex: re.Pattern[str] | None = field(compare=False)
    #: Sort key, higher first: exact names, then more literal characters, then fewer
    #: placeholders (computed once, by compile_pattern).
    specificity: tuple[int, int, int] = field(compare=False)

    @property
    def is_exact(self) -> bool:
        return not self.placeholders

    @property
    def binds_user(self) -> bool:
        """Whether the reserved ``{user}`` placeholder is in the pattern."""
        return USER_PLACEHOLDER in self.placeholders

    def match(self, channel: str) -> dict[str, str] | None:
        """The placeholder values if ``channel`` matches, else None."""
        if self.regex is None:
            return {} if channel == self.source else None
        found = self.regex.match(channel)
        if found is None or channel_kind(channel) != self.kind:
            # A pattern only names channels of its own kind: private-{a}-{b} must not
            # sign private-encrypted-x (which would need a shared secret).
            return None
        return found.groupdict()


def unbound_user_placeholders(pattern: ChannelPattern) -> tuple[str, ...]:
    """The placeholders named like a user id (``user_id``, ``uid``, ``owner``, ``User``,
    any case) that are not the bound ``{user}``: any value matches them."""
    return tuple(
        name
        for name in pattern.placeholders
        if name != USER_PLACEHOLDER and name.lower().replace("_", "") in _USER_LIKE
    )


def compile_pattern(source: Any) -> ChannelPattern:
    """Compile an exact channel name or a pattern; raise RealtimeValidationError.

    Placeholders are ``{name}`` (a Python identifier), each used once, never two
    side by side, never in the prefix (the prefix decides the channel kind).
    """
    if not isinstance(source, str) or not source:
        raise RealtimeValidationError(
            "A channel pattern must be a non-empty string.", rule="pattern_type"
        )
    names = _PLACEHOLDER_RE.findall(source)
    sample = _check_sample(source)
    _check_placeholders(source, names)
    literal_prefix, kind = _literal_prefix_and_kind(source, names)
    # ``sample`` has one character per placeholder: the rest is literal.
    literal = len(sample) - len(names)
    return ChannelPattern(
        source=source,
        kind=kind,
        placeholders=tuple(names),
        literal_prefix=literal_prefix,
        regex=_build_regex(source) if names else None,
        specificity=(0 if names else 1, literal, -len(names)),
    )


def _check_sample(source: str) -> str:
    """``source`` with each placeholder replaced by ``x``, checked as a channel name."""
    # With every placeholder replaced by one legal character the result must be a
    # valid channel name: that checks the literal characters and the length.
    sample = _PLACEHOLDER_RE.sub("x", source)
    try:
        validate_channel_name(sample)
    except RealtimeValidationError as exc:
        raise RealtimeValidationError(
            f"{source!r} is not a valid channel name or pattern: {exc} Placeholders "
            "look like {id}.",
            rule="pattern_syntax",
            value=source,
        ) from exc
    return sample


def _check_placeholders(source: str, names: list[str]) -> None:
    """Refuse a placeholder name used twice, or two placeholders side by side."""
    if len(set(names)) != len(names):
        raise RealtimeValidationError(
            f"{source!r} uses a placeholder name twice.", rule="pattern_duplicate", value=source
        )
    if re.search(r"\}\{", source):
        raise RealtimeValidationError(
            f"{source!r} has two placeholders side by side: put a separator between them.",
            rule="pattern_adjacent",
            value=source,
        )


def _literal_prefix_and_kind(source: str, names: list[str]) -> tuple[str, str]:
    """The text before the first placeholder and the channel kind it names.

    A pattern with placeholders must name a signed kind in that prefix.
    """
    first = source.find("{")
    literal_prefix = source if first < 0 else source[:first]
    # The kind comes from the literal prefix (all of the name when there is no
    # placeholder).
    kind = channel_kind(literal_prefix)
    if names and kind not in SIGNED_KINDS:
        raise RealtimeValidationError(
            f"{source!r}: the prefix (private-, private-encrypted-, presence-) must be "
            "written out before the first placeholder.",
            rule="pattern_prefix",
            value=source,
        )
    return literal_prefix, kind


def _build_regex(source: str) -> re.Pattern[str]:
    """The anchored regex of a pattern: literal text escaped, one group per placeholder."""
    parts: list[str] = []
    position = 0
    for found in _PLACEHOLDER_RE.finditer(source):
        parts.append(re.escape(source[position : found.start()]))
        parts.append(f"(?P<{found.group(1)}>{PLACEHOLDER_VALUE})")
        position = found.end()
    parts.append(re.escape(source[position:]))
    return re.compile(r"\A" + "".join(parts) + r"\Z")


class PatternIndex:
    """Find the most specific of many patterns matching a channel, fast.

    Exact names are a dict lookup. Patterns are bucketed by their literal prefix:
    a lookup only tries the buckets whose prefix the channel starts with, so 200
    policies cost a handful of regex matches, not 200.
    """

    def __init__(self, items: list[tuple[ChannelPattern, Any]]) -> None:
        self._exact: dict[str, Any] = {}
        self._buckets: dict[str, list[tuple[ChannelPattern, Any]]] = {}
        for pattern, value in items:
            if pattern.is_exact:
                self._exact[pattern.source] = (pattern, value)
            else:
                self._buckets.setdefault(pattern.literal_prefix, []).append((pattern, value))
        for bucket in self._buckets.values():
            bucket.sort(key=lambda item: (item[0].specificity, item[0].source), reverse=True)
        self._prefix_lengths = sorted({len(p) for p in self._buckets}, reverse=True)

    def __len__(self) -> int:
        return len(self._exact) + sum(len(b) for b in self._buckets.values())

    def find(self, channel: str) -> tuple[ChannelPattern, Any, dict[str, str]] | None:
        """``(pattern, value, placeholder values)`` of the best match, or None."""
        exact = self._exact.get(channel)
        if exact is not None:
            return exact[0], exact[1], {}
        best: tuple[ChannelPattern, Any, dict[str, str]] | None = None
        for length in self._prefix_lengths:
            if length > len(channel):
                continue
            for pattern, value in self._buckets.get(channel[:length], ()):
                params = pattern.match(channel)
                if params is not None:
                    if best is None or (pattern.specificity, pattern.source) > (
                        best[0].specificity,
                        best[0].source,
                    ):
                        best = (pattern, value, params)
                    break  # buckets are sorted: the first match is this bucket's best
        return best
