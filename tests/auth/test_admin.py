"""Admin: policy list, form validation, actions, check-access page; system checks."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import WARNING
from django.core.cache import cache

from django_toolbox_realtime import checks, decide
from django_toolbox_realtime.authorization import groups
from django_toolbox_realtime.authorization.version import VERSION_KEY
from django_toolbox_realtime.delivery import server_api
from django_toolbox_realtime.models import ChannelPolicy

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/django_toolbox_realtime/channelpolicy/"
ADD = CHANGELIST + "add/"
CHECK = CHANGELIST + "check-access/"


def test_changelist_filters_and_search(admin_client, policy):
    policy("private-teacher", "teacher", description="teachers only")
    policy("presence-classroom-{id}", "student")
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert b"private-teacher" in response.content and b"Check access" in response.content
    searched = admin_client.get(CHANGELIST, {"q": "teachers only"})
    assert b"private-teacher" in searched.content
    assert b"presence-classroom-{id}" not in searched.content
    filtered = admin_client.get(CHANGELIST, {"kind": "presence"})
    assert b"presence-classroom-{id}" in filtered.content
    assert b"private-teacher</a>" not in filtered.content
    policy("private-encrypted-grades", "student")
    private = admin_client.get(CHANGELIST, {"kind": "private"})
    assert b"private-teacher</a>" in private.content
    assert b"private-encrypted-grades</a>" not in private.content
    encrypted = admin_client.get(CHANGELIST, {"kind": "encrypted"})
    assert b"private-encrypted-grades</a>" in encrypted.content
    assert b"private-teacher</a>" not in encrypted.content
    assert admin_client.get(CHANGELIST, {"min_role": "teacher"}).status_code == 200


def _form(channel, min_role="student", **extra):
    return {"channel": channel, "min_role": min_role, "description": "", "is_active": "on", **extra}


@pytest.mark.parametrize(
    ("channel", "min_role", "error"),
    [
        ("public-dashboard", "student", b"Public channels cannot be protected"),
        ("agent-status", "admin", b"Public channels cannot be protected"),
        ("presence-classroom-{id}{x}", "student", b"side by side"),
        ("private-a:b", "student", b"not a valid channel name"),
        ("private-x", "wizard", b"Select a valid choice"),
    ],
)
def test_form_rejects_what_cannot_be_enforced(admin_client, channel, min_role, error):
    response = admin_client.post(ADD, _form(channel, min_role))
    assert response.status_code == 200  # the form again, with the error
    assert error in response.content
    assert not ChannelPolicy.objects.exists()


def test_adding_a_policy_in_the_admin_applies_at_once(admin_client, make_user):
    student = make_user("s", "student")
    assert decide(student, "private-student").code == "no_policy"
    group = Group.objects.create(name="class-a")
    response = admin_client.post(ADD, _form("private-student", allowed_groups=[group.pk]))
    assert response.status_code == 302
    assert decide(student, "private-student").code == "group_required"
    student.groups.add(group)
    groups.forget_groups(student)  # a new request would load the groups again
    assert decide(student, "private-student").allowed


def test_activate_and_deactivate_actions_bump_the_version(admin_client, policy, make_user):
    teacher = make_user("t", "teacher")
    p = policy("private-teacher", "teacher")
    assert decide(teacher, "private-teacher").allowed
    before = cache.get(VERSION_KEY)
    admin_client.post(CHANGELIST, {"action": "deactivate", "_selected_action": [p.pk]})
    assert cache.get(VERSION_KEY) != before
    assert decide(teacher, "private-teacher").code == "policy_inactive"
    admin_client.post(CHANGELIST, {"action": "activate", "_selected_action": [p.pk]})
    assert decide(teacher, "private-teacher").allowed


def test_check_access_page(admin_client, policy, make_user):
    policy("private-teacher", "teacher")
    make_user("sam", "student")
    page = admin_client.get(CHECK)
    assert page.status_code == 200 and b"Check channel access" in page.content
    denied = admin_client.get(CHECK, {"user": "sam", "channel": "private-teacher"})
    assert b"Denied" in denied.content and b"below" in denied.content
    assert denied.context["decision"].code == "role_too_low"
    assert denied.context["decision"].required_role == "teacher"
    make_user("tom", "teacher")
    allowed = admin_client.get(CHECK, {"user": "tom", "channel": "private-teacher"})
    assert b"Allowed" in allowed.content and allowed.context["decision"].allowed
    unknown = admin_client.get(CHECK, {"user": "nobody", "channel": "private-teacher"})
    assert b"No such user" in unknown.content


def test_check_access_shows_presence_data(admin_client, policy, make_user):
    from example_project.classroom.models import Classroom

    policy("presence-classroom-{id}", "student")
    student = make_user("sam", "student", first_name="Sam")
    Classroom.objects.create(pk=101, name="101").students.add(student)
    page = admin_client.get(CHECK, {"user": "sam", "channel": "presence-classroom-101"})
    assert page.context["decision"].authorizer.name.endswith("classroom_presence")
    assert page.context["presence"]["user_info"]["classroom_role"] == "student"


def test_check_access_needs_permission(client, make_user):
    staff_user = make_user("clerk", is_staff=True)
    client.force_login(staff_user)
    assert client.get(CHECK).status_code == 403


def test_revoke_from_check_access_page(admin_client, make_user, monkeypatch):
    calls = []
    monkeypatch.setattr(
        server_api, "terminate_user_connections", lambda uid: calls.append(uid) or {"ok": True}
    )
    sam = make_user("sam", "student")
    response = admin_client.post(CHECK, {"user": "sam", "channel": "private-x", "revoke": "1"})
    assert response.status_code == 302 and "user=sam" in response["Location"]
    assert calls == [str(sam.pk)]


def test_revoke_action_on_the_user_admin(admin_client, make_user, monkeypatch):
    calls = []
    monkeypatch.setattr(
        server_api, "terminate_user_connections", lambda uid: calls.append(uid) or {"ok": True}
    )
    a, b = make_user("a", "student"), make_user("b", "student")
    response = admin_client.post(
        "/admin/auth/user/",
        {"action": "revoke_connections", "_selected_action": [a.pk, b.pk]},
        follow=True,
    )
    assert sorted(calls) == sorted([str(a.pk), str(b.pk)])
    assert b"Terminated the connections of 2 user(s)" in response.content


# --- system checks ---------------------------------------------------------------------


def _ids(messages):
    return sorted(m.id for m in messages)


def test_check_warns_about_role_rules_on_public_channels(db):
    ChannelPolicy.objects.create(channel="agent-status", min_role="admin")
    ChannelPolicy.objects.create(channel="public-dashboard", min_role="admin", is_active=False)
    ChannelPolicy.objects.create(channel="private-x", min_role="wizard")
    ChannelPolicy.objects.create(channel="private-{a}{b}", min_role="student")
    messages = checks.check_channel_authorization(databases=["default"])
    assert _ids(messages) == [
        "toolbox_realtime.W010",
        "toolbox_realtime.W011",
        "toolbox_realtime.W012",
    ]
    public = next(m for m in messages if m.id == "toolbox_realtime.W010")
    assert "agent-status" in public.msg and "cannot enforce" in public.msg
    # Without a database (plain `check`), no query is made.
    assert checks.check_channel_authorization(databases=None) == []


def test_check_settings(settings):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ROLE_HIERARCHY": ["a"],
        "POLICY_CACHE": "nope",
        "POLICY_CACHE_MAX_AGE": -1,
    }
    assert _ids(checks.check_channel_authorization()) == [
        "toolbox_realtime.E010",
        "toolbox_realtime.E011",
        "toolbox_realtime.E012",
    ]


def test_deploy_check_about_per_process_cache(settings):
    assert _ids(checks.check_policy_cache_shared()) == ["toolbox_realtime.W013"]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "cache_table",
        }
    }
    assert checks.check_policy_cache_shared() == []


# --- owner-bound channels and role sources (issue 8, items 1 and 9) ---------------------


def test_policy_form_explains_user_placeholder_and_roles(admin_client):
    page = admin_client.get(ADD).content.decode()
    assert "{user}" in page and "only the user whose id" in page
    assert "Roles come from" in page and "any letter case" in page


def test_saving_an_unbound_user_placeholder_warns(admin_client):
    response = admin_client.post(ADD, _form("private-user-{user_id}"), follow=True)
    assert ChannelPolicy.objects.filter(channel="private-user-{user_id}").exists()
    (warning,) = [m for m in response.context["messages"] if m.level == WARNING]
    text = str(warning)
    assert "{user_id}" in text and "{user}" in text and "any user" in text
    bound = admin_client.post(ADD, _form("private-user-{user}"), follow=True)
    assert ChannelPolicy.objects.filter(channel="private-user-{user}").exists()
    assert not [m for m in bound.context["messages"] if m.level == WARNING]


def test_check_access_explains_not_owner(admin_client, policy, make_user):
    policy("private-user-{user}", "student")
    sam, other = make_user("sam", "student"), make_user("kim", "student")
    denied = admin_client.get(CHECK, {"user": "sam", "channel": f"private-user-{other.pk}"})
    assert denied.context["decision"].code == "not_owner"
    assert f"user={other.pk} is not you (you are user {sam.pk})".encode() in denied.content
    alias = admin_client.get(CHECK, {"user": "sam", "channel": f"private-user-0{sam.pk}"})
    assert alias.context["decision"].code == "not_owner"
    own = admin_client.get(CHECK, {"user": "sam", "channel": f"private-user-{sam.pk}"})
    assert own.context["decision"].allowed


def test_check_access_no_role_says_where_roles_come_from(admin_client, policy, make_user):
    policy("private-student", "student")
    make_user("norole")
    page = admin_client.get(CHECK, {"user": "norole", "channel": "private-student"})
    assert page.context["decision"].code == "no_role"
    assert b"group named like a role" in page.content and b"ROLE_RESOLVER" in page.content


@pytest.mark.parametrize(
    ("channel", "active", "warned"),
    [
        ("private-user-{user_id}", True, True),
        ("private-user-{UID}", True, True),
        ("private-doc-{Owner_Id}", True, True),
        ("presence-desk-{userid}", True, True),
        ("private-user-{user_pk}", True, True),
        ("private-user-{User}", True, True),  # only lower-case {user} is bound
        ("private-user-{user_id}", False, False),
        ("private-user-{user}", True, False),
        ("private-room-{id}", True, False),
        ("private-user-{user}-doc-{owner}", True, True),
    ],
)
def test_check_warns_about_unbound_user_placeholders(db, channel, active, warned):
    ChannelPolicy.objects.create(channel=channel, min_role="teacher", is_active=active)
    messages = checks.check_channel_authorization(databases=["default"])
    assert ("toolbox_realtime.W014" in _ids(messages)) is warned
    if warned:
        (warning,) = (m for m in messages if m.id == "toolbox_realtime.W014")
        assert channel in warning.msg and "{user}" in warning.hint


def test_check_warns_about_unbound_user_placeholders_of_authorizers(authorizer):
    @authorizer("private-inbox-{owner}")
    def inbox(user, owner):
        return True

    messages = checks.check_channel_authorization(databases=None)
    assert _ids(messages) == ["toolbox_realtime.W014"]
    assert "private-inbox-{owner}" in messages[0].msg and "inbox" in messages[0].msg
