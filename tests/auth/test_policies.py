"""The policy engine: default deny, roles, groups, authorizers, and the cache."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection

from django_toolbox_realtime import decide
from django_toolbox_realtime.authorization import matcher as policies
from django_toolbox_realtime.authorization import policies as engine
from django_toolbox_realtime.authorization import version as authz_cache
from django_toolbox_realtime.authorization.groups import user_groups
from django_toolbox_realtime.authorization.version import VERSION_KEY
from django_toolbox_realtime.models import ChannelPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def table(policy):
    policy("private-admin", "admin")
    policy("private-teacher", "teacher")
    policy("private-student", "student")
    policy("presence-room-{id}", "student")


@pytest.mark.parametrize(
    ("role", "channel", "allowed", "code"),
    [
        ("student", "private-student", True, "allowed"),
        ("student", "private-teacher", False, "role_too_low"),
        ("student", "private-admin", False, "role_too_low"),
        ("teacher", "private-student", True, "allowed"),
        ("teacher", "private-teacher", True, "allowed"),
        ("teacher", "private-admin", False, "role_too_low"),
        ("admin", "private-admin", True, "allowed"),
        ("student", "presence-room-7", True, "allowed"),
        ("student", "presence-room-7-x", False, "no_policy"),
        ("admin", "private-nothing", False, "no_policy"),  # default deny
        ("admin", "public-dashboard", False, "public_channel"),
        ("admin", "agent-status", False, "public_channel"),
        ("admin", "#server-to-user-1", False, "invalid_channel"),
        ("admin", "private-admin\n", False, "invalid_channel"),
        ("admin", "", False, "invalid_channel"),
        (None, "private-student", False, "no_role"),
        ("wizard", "private-student", False, "no_role"),  # SECURITY_CASES 11
    ],
)
def test_decision_table(table, make_user, role, channel, allowed, code):
    user = make_user("u", role)
    decision = decide(user, channel)
    assert (decision.allowed, decision.code) == (allowed, code), decision.reason
    assert bool(decision) is allowed


def test_decision_says_why(table, make_user):
    decision = decide(make_user("u", "student"), "private-teacher")
    assert decision.policy is not None and decision.policy.channel == "private-teacher"
    assert decision.required_role == "teacher" and decision.user_role == "student"
    assert "'student' is below 'teacher'" in decision.reason
    assert (decision.code, decision.channel, decision.kind) == (
        "role_too_low",
        "private-teacher",
        "private",
    )
    assert decision.authorizer is None and decision.params == {} and not decision.allowed
    allowed = decide(make_user("v", "student"), "presence-room-9")
    assert allowed.params == {"id": "9"} and allowed.kind == "presence"


def test_anonymous_and_inactive_users_get_nothing(table, make_user):
    assert decide(AnonymousUser(), "private-student").code == "not_authenticated"
    assert decide(None, "private-student").code == "not_authenticated"
    inactive = make_user("gone", "admin", is_active=False)
    assert decide(inactive, "private-student").code == "not_authenticated"


def test_unknown_roles_are_least_privilege(table, policy, make_user):
    user = make_user("u", "student")
    user.role = "wizard"  # a role attribute wins over groups, and is unknown
    assert decide(user, "private-student").code == "no_role"
    policy("private-wizards", "wizard")
    admin = make_user("boss", is_superuser=True)
    assert decide(admin, "private-wizards").code == "policy_role_unknown"
    assert decide(admin, "private-admin").allowed  # superuser = top role


def test_role_hierarchy_is_configurable(settings, table, make_user):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ROLE_HIERARCHY": {"student": 1, "teacher": 5, "admin": 3},
    }
    assert decide(make_user("t", "teacher"), "private-admin").allowed


def test_role_resolver_is_configurable(settings, table, make_user):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ROLE_RESOLVER": "tests.auth.test_policies.everyone_teacher",
    }
    assert decide(make_user("u"), "private-teacher").allowed
    assert not decide(make_user("v"), "private-admin").allowed


def everyone_teacher(user):
    return "teacher"


def test_allowed_groups(policy, make_user):
    staff = Group.objects.create(name="staff-room")
    policy("private-staff", "student", groups=[staff])
    outsider = make_user("out", "admin")
    member = make_user("in", "student")
    member.groups.add(staff)
    assert decide(outsider, "private-staff").code == "group_required"
    assert decide(member, "private-staff").allowed


def test_inactive_policy_allows_nothing_and_does_not_fall_back(policy, make_user):
    policy("private-{name}", "student")
    policy("private-admin", "student", is_active=False)
    user = make_user("u", "admin")
    assert decide(user, "private-other").allowed
    decision = decide(user, "private-admin")
    assert decision.code == "policy_inactive" and decision.policy.channel == "private-admin"


def test_exact_policy_beats_pattern(policy, make_user):
    policy("private-agent-{agent_id}", "admin")
    policy("private-agent-tasks", "teacher")
    teacher = make_user("t", "teacher")
    assert decide(teacher, "private-agent-tasks").allowed
    assert decide(teacher, "private-agent-7").code == "role_too_low"


# --- authorizers -----------------------------------------------------------------------


def test_authorizer_and_policy_must_both_allow(policy, authorizer, make_user):
    policy("presence-room-{id}", "student")
    calls = []

    @authorizer("presence-room-{id}")
    def room(user, id):
        calls.append(id)
        return {"seat": int(id)} if id == "1" else False

    student = make_user("s", "student")
    allowed = decide(student, "presence-room-1")
    assert allowed.allowed and allowed.user_info == {"seat": 1}
    assert allowed.authorizer is not None and allowed.authorizer.name.endswith("room")
    assert decide(student, "presence-room-2").code == "authorizer_denied"
    # The policy refuses first: the authorizer is not even asked.
    assert decide(make_user("n"), "presence-room-1").code == "no_role"
    assert calls == ["1", "2"]


def test_authorizer_alone_is_not_enough(authorizer, make_user):
    authorizer("private-secret-{id}")(lambda user, id: True)
    assert decide(make_user("s", "admin"), "private-secret-1").code == "no_policy"


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (True, "allowed"),
        ({}, "allowed"),
        (False, "authorizer_denied"),
        (None, "authorizer_denied"),
        (1, "authorizer_denied"),
        ("yes", "authorizer_denied"),
    ],
)
def test_only_true_or_a_dict_allow(policy, authorizer, make_user, answer, code):
    policy("private-doc-{id}", "student")
    authorizer("private-doc-{id}")(lambda user, id: answer)
    assert decide(make_user("s", "student"), "private-doc-1").code == code


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ObjectDoesNotExist, "authorizer_denied"),
        (ValueError, "authorizer_denied"),
        (RuntimeError, "authorizer_error"),
        (KeyError, "authorizer_error"),
    ],
)
def test_authorizer_errors_fail_closed(policy, authorizer, make_user, error, code):
    policy("private-doc-{id}", "student")

    def broken(user, id):
        raise error("boom")

    authorizer("private-doc-{id}")(broken)
    assert decide(make_user("s", "student"), "private-doc-1").code == code


def test_two_authorizers_for_one_pattern_is_an_error(authorizer):
    from django.core.exceptions import ImproperlyConfigured

    def first(user, id):
        return True

    def second(user, id):
        return True

    authorizer("private-x-{id}")(first)
    with pytest.raises(ImproperlyConfigured):
        authorizer("private-x-{id}")(second)


# --- the compiled-policy cache --------------------------------------------------------


@pytest.fixture
def superuser(make_user):
    # No groups query for the role: decisions can be counted to the query.
    return make_user("root", is_superuser=True)


def test_warm_cache_makes_no_query(table, superuser, django_assert_num_queries):
    with django_assert_num_queries(2):  # cold: the policies and their groups
        assert decide(superuser, "private-admin").allowed
    with django_assert_num_queries(0):
        assert decide(superuser, "private-admin").allowed
        assert decide(superuser, "presence-room-5").allowed
        assert not decide(superuser, "private-nope").allowed


def fresh(user):
    """The user as the next request loads it (no memoized groups)."""
    return User.objects.get(pk=user.pk)


def test_cached_groups_make_role_checks_query_free(table, make_user, django_assert_num_queries):
    student = fresh(make_user("s", "student"))
    with django_assert_num_queries(3):  # cold: policies (2) and the groups (1)
        assert decide(student, "private-student").allowed
    again = fresh(student)
    with django_assert_num_queries(0):  # warm: both from the cache
        assert decide(again, "private-student").allowed
        assert not decide(again, "private-teacher").allowed
    assert user_groups(again) == [(Group.objects.get(name="student").pk, "student")]


def test_a_cold_decision_reads_the_version_once(table, make_user, monkeypatch):
    """One cache read serves the policies and the user's groups, even when both are
    loaded from the database."""
    reads = []
    real_current_version = authz_cache.current_version

    def counted():
        reads.append(1)
        return real_current_version()

    monkeypatch.setattr(authz_cache, "current_version", counted)
    monkeypatch.setattr(policies, "current_version", counted)
    monkeypatch.setattr(engine, "current_version", counted)
    student = fresh(make_user("s", "student"))
    assert decide(student, "private-student").allowed
    assert len(reads) == 1
    assert user_groups(fresh(student)) == [(Group.objects.get(name="student").pk, "student")]


def test_group_membership_changes_apply_on_the_next_decision(table, make_user):
    user = make_user("u", "student")
    assert decide(fresh(user), "private-student").allowed
    assert not decide(fresh(user), "private-teacher").allowed
    user.groups.add(Group.objects.get_or_create(name="teacher")[0])
    assert decide(fresh(user), "private-teacher").allowed
    user.groups.clear()
    assert decide(fresh(user), "private-student").code == "no_role"
    Group.objects.get(name="student").user_set.add(user)  # the reverse side
    assert decide(fresh(user), "private-student").allowed
    Group.objects.filter(name="student").update(name="pupil")  # no signal...
    assert decide(fresh(user), "private-student").allowed  # ...stale within the bound
    Group.objects.get(name="pupil").save()  # a rename through save() bumps
    assert decide(fresh(user), "private-student").code == "no_role"


def test_save_delete_and_group_changes_apply_on_the_next_decision(table, superuser, make_user):
    teacher = make_user("t", "teacher")
    assert decide(teacher, "private-teacher").allowed
    private_teacher = ChannelPolicy.objects.get(channel="private-teacher")
    private_teacher.is_active = False
    private_teacher.save()
    assert decide(teacher, "private-teacher").code == "policy_inactive"
    private_teacher.is_active = True
    private_teacher.save()
    assert decide(teacher, "private-teacher").allowed
    elite = Group.objects.create(name="elite")
    private_teacher.allowed_groups.add(elite)
    assert decide(teacher, "private-teacher").code == "group_required"
    private_teacher.allowed_groups.clear()
    assert decide(teacher, "private-teacher").allowed
    private_teacher.delete()
    assert decide(teacher, "private-teacher").code == "no_policy"


def deactivate_behind_the_apps_back(channel):
    """Deactivate a policy with raw SQL: no signal, no version bump."""
    table = connection.ops.quote_name(ChannelPolicy._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET is_active = %s WHERE channel = %s", [False, channel])


def test_another_process_sees_the_version_bump(table, superuser, django_assert_num_queries):
    """A process holding an old matcher rebuilds once the shared version moved."""
    decide(superuser, "private-admin")
    stale = policies._matcher
    deactivate_behind_the_apps_back("private-admin")
    # Raw SQL sends no signal: within POLICY_CACHE_MAX_AGE this process keeps its copy...
    assert decide(superuser, "private-admin").allowed
    # ...until someone bumps the version, as another process would see it through the
    # shared cache:
    policies.bump_policy_version()
    policies._matcher = stale
    with django_assert_num_queries(2):
        assert decide(superuser, "private-admin").code == "policy_inactive"


def test_max_age_bounds_staleness_without_a_shared_cache(settings, table, superuser):
    decide(superuser, "private-admin")
    deactivate_behind_the_apps_back("private-admin")
    assert decide(superuser, "private-admin").allowed  # stale within the bound
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "POLICY_CACHE_MAX_AGE": 0}
    assert not decide(superuser, "private-admin").allowed


def test_bulk_queryset_writes_apply_on_the_next_decision(
    table, superuser, make_user, django_capture_on_commit_callbacks
):
    """update(), bulk_update(), bulk_create() and delete() send no save signals: the
    QuerySet bumps the version itself, now and again after the commit."""
    teacher = make_user("t", "teacher")
    assert decide(teacher, "private-teacher").allowed
    before = cache.get(VERSION_KEY)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert ChannelPolicy.objects.filter(channel="private-teacher").update(is_active=False)
        during = cache.get(VERSION_KEY)
    assert during != before and cache.get(VERSION_KEY) not in (None, during)
    assert callbacks
    assert decide(teacher, "private-teacher").code == "policy_inactive"
    policy = ChannelPolicy.objects.get(channel="private-teacher")
    policy.is_active = True
    ChannelPolicy.objects.bulk_update([policy], ["is_active"])
    assert decide(teacher, "private-teacher").allowed
    ChannelPolicy.objects.bulk_create([ChannelPolicy(channel="private-new", min_role="admin")])
    assert decide(superuser, "private-new").allowed
    ChannelPolicy.objects.filter(channel="private-new").delete()
    assert decide(superuser, "private-new").code == "no_policy"
    unchanged = cache.get(VERSION_KEY)
    assert ChannelPolicy.objects.filter(channel="private-none").update(is_active=False) == 0
    assert cache.get(VERSION_KEY) == unchanged  # nothing written, nothing to invalidate


def test_version_is_bumped_again_after_commit(table, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ChannelPolicy.objects.create(channel="private-new", min_role="student")
        during = cache.get(VERSION_KEY)
    assert len(callbacks) == 1
    assert cache.get(VERSION_KEY) not in (None, during)


def test_cache_outage_falls_back_to_the_database(
    table, superuser, monkeypatch, make_user, django_assert_num_queries
):
    class Broken:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("cache down")

            return fail

    monkeypatch.setattr(authz_cache, "get_cache", lambda: Broken())
    with django_assert_num_queries(2):
        assert decide(superuser, "private-admin").allowed
    with django_assert_num_queries(2):  # no version to trust: read every time
        assert decide(superuser, "private-admin").allowed
    student = User.objects.get(pk=make_user("s", "student").pk)
    with django_assert_num_queries(3):  # and the groups too
        assert decide(student, "private-student").allowed


def test_deleting_the_only_allowed_group_deactivates_the_policy(policy, make_user):
    lonely_group = Group.objects.create(name="lonely")
    other = Group.objects.create(name="other")
    lonely = policy("private-lonely", "student", groups=[lonely_group])
    shared = policy("private-shared", "student", groups=[lonely_group, other])
    lonely_group.delete()
    lonely.refresh_from_db()
    shared.refresh_from_db()
    assert not lonely.is_active  # it would otherwise be open to every student
    assert shared.is_active and list(shared.allowed_groups.all()) == [other]
    assert decide(make_user("s", "student"), "private-lonely").code == "policy_inactive"


def test_rows_saved_around_validation_match_nothing(make_user):
    ChannelPolicy.objects.create(channel="private-{a}{b}", min_role="student")
    assert decide(make_user("s", "admin"), "private-xy").code == "no_policy"


def test_without_a_usable_cache_every_decision_reads_the_database(
    settings, table, make_user, django_assert_num_queries
):
    settings.CACHES = {
        **settings.CACHES,
        "none": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "POLICY_CACHE": "none"}
    student = make_user("s", "student")
    for _ in range(2):
        request_user = fresh(student)
        with django_assert_num_queries(3):  # policies (2) + groups (1), every time
            assert decide(request_user, "private-student").allowed
