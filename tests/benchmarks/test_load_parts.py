"""The load test's own logic, without servers: the webhook plan (a history whose
last event decides), the expected answers of the auth load and their checks."""

from __future__ import annotations

import json
from collections import Counter

from benchmarks.load import auth_load, webhook_load
from tests.helpers import channel_auth

KEY, SECRET = "k", "s"


def test_the_plan_is_a_history_whose_last_event_per_member_decides() -> None:
    p = webhook_load.plan(channels=3, users=4, present=2, rounds=4, t0=1_000_000)
    last: dict[tuple[str, str], tuple[int, str]] = {}
    times: dict[tuple[str, str], list[int]] = {}
    for raw in p.bodies:
        body = json.loads(raw)
        assert 1 <= len(body["events"]) <= webhook_load.EVENTS_PER_BODY
        for ev in body["events"]:
            member = (ev["channel"], ev["user_id"])
            times.setdefault(member, []).append(body["time_ms"])
            if member not in last or body["time_ms"] > last[member][0]:
                last[member] = (body["time_ms"], ev["name"])
    assert len(times) == 12 and all(len(set(t)) == len(t) for t in times.values())
    present = {m for m, (_, name) in last.items() if name == "member_added"}
    assert present == p.present and len(present) == 6
    assert p.events == sum(len(t) for t in times.values()) == 12 * 4 + 6
    posted = Counter(p.posts)
    assert set(posted) == set(range(len(p.bodies)))  # every body at least once
    assert sum(n == 2 for n in posted.values()) == len(range(0, len(p.bodies), 5))
    assert p.posts != sorted(p.posts)  # out of order


def test_problems_name_a_body_applied_twice_and_a_state_that_differs() -> None:
    p = webhook_load.plan(channels=1, users=2, present=1, rounds=2, t0=0)
    dupes = len(p.posts) - len(p.bodies)
    good = webhook_load.Outcome(
        accepted={i: 1 for i in range(len(p.bodies))}, duplicates=dupes, processed=p.events
    )
    assert webhook_load.problems(p, good, set(p.present), set(p.present)) == []
    twice = webhook_load.Outcome(
        accepted={0: 2, **{i: 1 for i in range(1, len(p.bodies))}},
        duplicates=dupes - 1,
        processed=p.events,
    )
    found = webhook_load.problems(p, twice, set(), set(p.present))
    assert any("more than once" in f for f in found)
    assert any("differs from soketi" in f for f in found)


def test_the_auth_load_expects_the_demo_policies() -> None:
    student = auth_load.Identity("student", 5, "token")
    teacher = auth_load.Identity("teacher", 6, None)
    anonymous = auth_load.Identity("", None, None)
    assert auth_load.expected(student, "private-student")
    assert not auth_load.expected(student, "private-teacher")
    assert auth_load.expected(student, "presence-classroom-101")
    assert auth_load.expected(teacher, "private-teacher")
    assert not auth_load.expected(teacher, "private-admin")
    assert auth_load.expected(student, "private-user-5")
    assert not auth_load.expected(student, "private-user-6")
    assert not any(auth_load.expected(anonymous, c) for c in auth_load.ROLE_CHANNELS)


def test_a_grant_is_checked_against_its_own_signature() -> None:
    good = {"auth": channel_auth(KEY, SECRET, "1.2", "private-student")}
    assert auth_load.check_grant(KEY, SECRET, "1.2", "private-student", good, 5) == ""
    assert (
        auth_load.check_grant(KEY, SECRET, "1.3", "private-student", good, 5) == "wrong signature"
    )
    data = json.dumps({"user_id": "5", "user_info": {}})
    presence = {
        "auth": channel_auth(KEY, SECRET, "1.2", "presence-classroom-101", data),
        "channel_data": data,
    }
    assert auth_load.check_grant(KEY, SECRET, "1.2", "presence-classroom-101", presence, 5) == ""
    assert "user_id" in auth_load.check_grant(
        KEY, SECRET, "1.2", "presence-classroom-101", presence, 6
    )
