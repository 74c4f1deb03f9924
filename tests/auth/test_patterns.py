"""Channel patterns: anchored, placeholders never cross - or ., exact names win."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_toolbox_realtime.authorization.patterns import PatternIndex, compile_pattern
from django_toolbox_realtime.exceptions import RealtimeValidationError

CLASSROOM = compile_pattern("presence-classroom-{id}")


@pytest.mark.parametrize(
    ("channel", "params"),
    [
        ("presence-classroom-101", {"id": "101"}),
        ("presence-classroom-a_b=c@d,e;f", {"id": "a_b=c@d,e;f"}),
        # SECURITY_CASES 4: pattern confusion
        ("presence-classroom-1-extra", None),
        ("presence-classroom-1.2", None),
        ("xpresence-classroom-1", None),
        ("presence-classroom-", None),
        ("presence-classroom-1\n", None),
        ("presence-classroom-١٢٣", None),
        ("presence-classroom-1 ", None),
        ("private-classroom-1", None),
        ("presence-classroom-1/2", None),
    ],
)
def test_classroom_pattern(channel, params):
    assert CLASSROOM.match(channel) == params


@given(st.text(alphabet="ab1-.", min_size=1, max_size=12))
def test_a_placeholder_never_spans_a_separator(value):
    params = CLASSROOM.match(f"presence-classroom-{value}")
    assert (params is not None) == ("-" not in value and "." not in value)
    if params is not None:
        assert params["id"] == value


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("", "pattern_type"),
        ("presence-classroom-{id}{x}", "pattern_adjacent"),
        ("presence-{id}-{id}", "pattern_duplicate"),
        ("presence-{1id}", "pattern_syntax"),
        ("presence-{id", "pattern_syntax"),
        ("presence classroom-{id}", "pattern_syntax"),
        ("{kind}-classroom", "pattern_prefix"),
        ("public-{id}", "pattern_prefix"),
        ("presence-" + "x" * 160 + "-{id}", "pattern_syntax"),
    ],
)
def test_invalid_patterns(source, rule):
    with pytest.raises(RealtimeValidationError) as exc:
        compile_pattern(source)
    assert exc.value.rule == rule


def test_pattern_kind_must_match_channel_kind():
    pattern = compile_pattern("private-{a}-{b}")
    assert pattern.match("private-team-7") == {"a": "team", "b": "7"}
    # Would need a shared secret: a private- pattern does not name encrypted channels.
    assert pattern.match("private-encrypted-7") is None


def test_exact_names_beat_patterns_and_specific_patterns_beat_general_ones():
    index = PatternIndex(
        [
            (compile_pattern(source), source)
            for source in [
                "private-agent-{id}",
                "private-agent-tasks",
                "private-{a}-{b}",
                "private-agent-{id}-log",
            ]
        ]
    )
    assert index.find("private-agent-tasks")[1] == "private-agent-tasks"
    assert index.find("private-agent-7")[1] == "private-agent-{id}"
    assert index.find("private-agent-7")[2] == {"id": "7"}
    assert index.find("private-team-7")[1] == "private-{a}-{b}"
    assert index.find("private-agent-7-log")[1] == "private-agent-{id}-log"
    assert index.find("private-agent") is None
    assert len(index) == 4


def test_user_placeholder_is_reserved_and_user_like_names_are_found():
    from django_toolbox_realtime.authorization.patterns import unbound_user_placeholders

    assert compile_pattern("private-user-{user}").binds_user
    assert not compile_pattern("private-user-{user_id}").binds_user
    assert not compile_pattern("private-user-{User}").binds_user
    assert compile_pattern("private-user-{user}").match("private-user-7") == {"user": "7"}
    mixed = compile_pattern("private-{user}-doc-{Owner_Id}-{x}-{UID}")
    assert unbound_user_placeholders(mixed) == ("Owner_Id", "UID")
    assert unbound_user_placeholders(compile_pattern("private-room-{id}")) == ()
