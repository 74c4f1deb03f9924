"""Where roles come from: groups named after the roles (any letter case), a ``role``
attribute, superusers, or ``ROLE_RESOLVER``; the ``no_role`` reason says so."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from django_toolbox_realtime import decide, user_role
from django_toolbox_realtime.authorization.roles import default_role_resolver, role_source

pytestmark = pytest.mark.django_db


def custom_resolver(user):
    return None


@pytest.mark.parametrize("name", ["Student", "STUDENT", "student", "sTuDeNt"])
def test_group_names_match_roles_in_any_case(make_user, policy, name):
    policy("private-student", "student")
    user = make_user("u")
    user.groups.add(Group.objects.create(name=name))
    assert default_role_resolver(user) == "student"  # the hierarchy's spelling
    assert user_role(user) == "student"
    assert decide(user, "private-student").allowed


def test_highest_role_wins_across_cases(make_user):
    user = make_user("u")
    user.groups.add(Group.objects.create(name="Student"), Group.objects.create(name="Teacher"))
    assert default_role_resolver(user) == "teacher"


def test_exact_spelling_wins_when_the_hierarchy_has_both(make_user, settings):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ROLE_HIERARCHY": {"admin": 3, "Admin": 1},
    }
    user = make_user("u")
    user.groups.add(Group.objects.create(name="Admin"))
    assert default_role_resolver(user) == "Admin"
    other = make_user("v")
    other.groups.add(Group.objects.create(name="ADMIN"))  # ambiguous: no role
    assert default_role_resolver(other) is None


def test_group_names_that_are_not_roles_give_none(make_user):
    user = make_user("u")
    user.groups.add(Group.objects.create(name="students"), Group.objects.create(name="class-a"))
    assert default_role_resolver(user) is None


def test_no_role_reason_says_where_roles_come_from(make_user, policy):
    policy("private-student", "student")
    decision = decide(make_user("u"), "private-student")
    assert decision.code == "no_role"
    assert "group named like a role" in decision.reason
    assert "student, teacher, admin" in decision.reason
    assert "ROLE_RESOLVER" in decision.reason


def test_no_role_reason_names_a_custom_resolver(make_user, policy, settings):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ROLE_RESOLVER": f"{__name__}.custom_resolver",
    }
    policy("private-student", "student")
    decision = decide(make_user("u", "student"), "private-student")
    assert decision.code == "no_role"
    assert f"ROLE_RESOLVER'] = {__name__}.custom_resolver" in decision.reason
    assert "group named like a role" not in decision.reason
    assert role_source() in decision.reason
