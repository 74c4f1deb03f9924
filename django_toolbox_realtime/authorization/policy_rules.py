"""What makes a ChannelPolicy row enforceable: the one copy of the rules that the
admin form refuses to save and the system checks report on stored rows.

A policy needs a channel name or pattern that compiles, on a signed channel kind
(public channels cannot be protected: anyone may subscribe without a signature),
and a ``min_role`` that is in ``ROLE_HIERARCHY`` (otherwise it allows nobody).
A placeholder named like a user id but not the reserved ``{user}`` is allowed (a
teacher-only ``private-user-{user_id}`` may be meant) but worth a warning:
:func:`unbound_user_problem`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..exceptions import RealtimeValidationError
from ..validation import SIGNED_KINDS
from .patterns import ChannelPattern, compile_pattern, unbound_user_placeholders

#: Problem codes, by the field they are about.
INVALID_PATTERN, PUBLIC_CHANNEL, UNKNOWN_ROLE = "invalid_pattern", "public_channel", "unknown_role"
UNBOUND_USER = "unbound_user"
#: What to do about an unbound user-like placeholder.
UNBOUND_USER_HINT = (
    "Write {user} instead: it matches only the subscribing user's own id. Keep the "
    "placeholder only if the channel is meant for other people (e.g. teachers)."
)


@dataclass(frozen=True)
class PolicyProblem:
    """Why a policy cannot be enforced: ``field`` (``channel`` or ``min_role``),
    a stable ``code`` and a ``message`` for a person."""

    field: str
    code: str
    message: str


def channel_problem(channel: str) -> tuple[ChannelPattern | None, PolicyProblem | None]:
    """The compiled pattern of ``channel`` (None when it does not compile) and what
    is wrong with it, if anything."""
    try:
        pattern = compile_pattern(channel)
    except RealtimeValidationError as exc:
        return None, PolicyProblem("channel", INVALID_PATTERN, str(exc))
    if pattern.kind not in SIGNED_KINDS:
        return pattern, PolicyProblem(
            "channel",
            PUBLIC_CHANNEL,
            "Public channels cannot be protected: anyone may subscribe without a "
            "signature. Use a private-, private-encrypted- or presence- name.",
        )
    return pattern, None


def role_problem(min_role: str, hierarchy: dict[str, int]) -> PolicyProblem | None:
    """What is wrong with ``min_role`` under ``hierarchy``, if anything."""
    if min_role in hierarchy:
        return None
    return PolicyProblem(
        "min_role", UNKNOWN_ROLE, f"Not a role of ROLE_HIERARCHY: {', '.join(hierarchy)}."
    )


def policy_problems(channel: str, min_role: str, hierarchy: dict[str, int]) -> list[PolicyProblem]:
    """Every reason a policy on ``channel`` for ``min_role`` cannot be enforced."""
    problems = [p for p in (channel_problem(channel)[1], role_problem(min_role, hierarchy)) if p]
    return problems


def unbound_user_problem(pattern: ChannelPattern) -> PolicyProblem | None:
    """A warning when ``pattern`` has placeholders named like a user id that are not
    bound to the user (``{user_id}``, ``{uid}``, ``{owner}``...): any value matches."""
    names = unbound_user_placeholders(pattern)
    if not names:
        return None
    listed = ", ".join(f"{{{name}}}" for name in names)
    return PolicyProblem(
        "channel",
        UNBOUND_USER,
        f"{pattern.source!r}: {listed} is named like a user id but not bound to the "
        "user, so anyone the rule lets in may subscribe for any user (e.g. any "
        "user's private channel).",
    )
