"""The example project's side: seed_demo, the token endpoint, the classroom rules."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from django_toolbox_realtime import decide
from django_toolbox_realtime.models import ChannelPolicy
from example_project.classroom.models import Agent, Classroom, Quiz
from tests.helpers import form_post, seed_demo

pytestmark = pytest.mark.django_db

EXPECTED_POLICIES = {
    "private-admin": "admin",
    "private-teacher": "teacher",
    "private-student": "student",
    "presence-classroom-{id}": "student",
    "private-agent-{agent_id}": "admin",
    "private-agent-metrics": "admin",
    "private-system-health": "admin",
    "private-agent-tasks": "teacher",
    "private-user-{user}": "student",
}


def snapshot():
    return (
        sorted(User.objects.values_list("username", "is_superuser")),
        sorted(
            (u.username, g)
            for u in User.objects.all()
            for g in u.groups.values_list("name", flat=True)
        ),
        sorted(ChannelPolicy.objects.values_list("channel", "min_role", "is_active")),
        list(Classroom.objects.values_list("pk", "name")),
        sorted(Classroom.objects.get(pk=101).students.values_list("username", flat=True)),
        list(Quiz.objects.values_list("pk", "classroom_id")),
        list(Agent.objects.values_list("name", flat=True)),
    )


def test_seed_demo_is_complete_and_idempotent():
    seed_demo()
    first = snapshot()
    output = seed_demo()
    assert snapshot() == first
    assert "kept" in output
    users, groups, rules, rooms, enrolled, quizzes, agents = first
    assert [u for u, _ in users] == ["admin", "student", "student2", "teacher"]
    assert ("admin", "admin") in groups and ("teacher", "teacher") in groups
    assert ("student2", "student") in groups
    assert {c: r for c, r, _ in rules} == EXPECTED_POLICIES
    assert rooms == [(101, "Classroom 101")] and enrolled == ["student", "student2"]
    assert quizzes == [(1, 101)] and agents == ["grader"]
    for name in ("admin", "teacher", "student", "student2"):
        assert User.objects.get(username=name).check_password("demo1234")
    # Explicit ids must not break later inserts (PostgreSQL sequences).
    assert Classroom.objects.create(name="next").pk > 101
    assert Quiz.objects.create(classroom_id=101, title="next").pk > 1


def test_seed_keeps_admin_edits_unless_asked():
    seed_demo()
    ChannelPolicy.objects.filter(channel="private-teacher").update(min_role="admin")
    seed_demo()
    assert ChannelPolicy.objects.get(channel="private-teacher").min_role == "admin"
    seed_demo("--reset-policies")
    assert ChannelPolicy.objects.get(channel="private-teacher").min_role == "teacher"


def test_demo_channel_table(demo):
    users = demo
    expectations = {
        "private-admin": {"admin"},
        "private-teacher": {"admin", "teacher"},
        "private-student": {"admin", "teacher", "student", "student2"},
        "presence-classroom-101": {"admin", "teacher", "student", "student2"},
        "private-agent-1": {"admin"},
        "private-agent-metrics": {"admin"},
        "private-system-health": {"admin"},
        "private-agent-tasks": {"admin", "teacher"},
        "public-dashboard": set(),
        "public-notifications": set(),
        "agent-status": set(),
        "presence-classroom-102": set(),
    }
    for channel, allowed in expectations.items():
        got = {name for name, user in users.items() if decide(user, channel).allowed}
        assert got == allowed, channel


def test_demo_users_have_their_own_channel_only(demo):
    """SECURITY_CASES 29 on the demo data: private-user-{user}, student and up."""
    for name, user in demo.items():
        assert decide(user, f"private-user-{user.pk}").allowed, name
        others = [u for u in demo.values() if u.pk != user.pk]
        assert all(decide(user, f"private-user-{o.pk}").code == "not_owner" for o in others)
        assert decide(user, f"private-user-0{user.pk}").code == "not_owner"


def post_credentials(client, url, encoding, **fields):
    if encoding == "urlencoded":
        return client.post(url, urlencode(fields), content_type="application/x-www-form-urlencoded")
    return client.post(url, fields, format=encoding)


@pytest.mark.parametrize("encoding", ["json", "multipart", "urlencoded"])
@pytest.mark.parametrize("url", ["/api/v1/auth/token", "/api/v1/auth/token/"])
def test_token_endpoint(demo, url, encoding):
    client = APIClient()
    response = post_credentials(client, url, encoding, username="teacher", password="demo1234")
    assert response.status_code == 200
    token = response.json()["token"]
    assert len(token) == 40
    again = post_credentials(client, url, encoding, username="teacher", password="demo1234")
    assert again.json()["token"] == token  # one token per user
    bad = post_credentials(client, url, encoding, username="teacher", password="nope")
    assert bad.status_code == 400 and "token" not in bad.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = form_post(client, socket_id="1.1", channel_name="presence-classroom-101")
    assert response.status_code == 200
    assert json.loads(response.json()["channel_data"])["user_info"]["name"] == "Tom Teacher"


def test_classroom_authorizer_refuses_odd_ids(demo):
    admin = demo["admin"]
    assert decide(admin, "presence-classroom-101").allowed
    for channel in (
        "presence-classroom-0101",
        "presence-classroom-0101x",
        "presence-classroom-1234567890123456789012",
        "presence-classroom-0",
        "presence-classroom-@",
    ):
        assert not decide(admin, channel).allowed, channel
