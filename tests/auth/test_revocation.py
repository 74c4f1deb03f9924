"""revoke_user and REVOKE_ON_USER_CHANGE."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in

from django_toolbox_realtime import authenticate_user, revoke_user, signals
from django_toolbox_realtime.delivery import server_api

pytestmark = pytest.mark.django_db


@pytest.fixture
def terminated(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(
        server_api, "terminate_user_connections", lambda uid: calls.append(uid) or {"ok": True}
    )
    return calls


@pytest.fixture
def auto_revoke(settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "REVOKE_ON_USER_CHANGE": True}


def test_revoke_user_by_object_or_id(terminated, student):
    assert revoke_user(student) == {"ok": True}
    assert revoke_user(student.pk) == {"ok": True}
    assert terminated == [str(student.pk), str(student.pk)]


def test_revoke_user_when_disabled(settings, terminated, student):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "ENABLED": False}
    assert revoke_user(student) == {"sent": False}
    assert terminated == []


def test_off_by_default(terminated, teacher, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        teacher.is_active = False
        teacher.save()
        teacher.groups.clear()
    assert terminated == []


@pytest.mark.usefixtures("auto_revoke")
class TestRevokeOnUserChange:
    def test_deactivation(self, terminated, teacher, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            teacher.first_name = "Renamed"
            teacher.save()
        assert terminated == []
        with django_capture_on_commit_callbacks(execute=True):
            teacher.is_active = False
            teacher.save()
        assert terminated == [str(teacher.pk)]

    def test_access_lost_is_a_public_signal_sent_after_commit(
        self, terminated, teacher, django_capture_on_commit_callbacks
    ):
        # Authorization notices; delivery terminates through the signal: a project
        # can listen too (to log it, or notify the user).
        received: list[dict] = []

        def receiver(sender, **kwargs):
            received.append({"sender": sender, **kwargs})

        signals.access_lost.connect(receiver)
        try:
            with django_capture_on_commit_callbacks(execute=False) as callbacks:
                teacher.is_active = False
                teacher.save()
            assert received == []  # nothing before commit
            for callback in callbacks:
                callback()
        finally:
            signals.access_lost.disconnect(receiver)
        assert [(r["sender"], r["user_id"], r["reason"]) for r in received] == [
            (get_user_model(), str(teacher.pk), "deactivated or role lowered")
        ]
        assert terminated == [str(teacher.pk)]

    def test_nothing_before_commit(self, terminated, teacher, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            teacher.is_active = False
            teacher.save()
        assert terminated == [] and len(callbacks) == 1  # a rollback would send nothing

    def test_role_group_removed_or_lowered(
        self, terminated, teacher, student, django_capture_on_commit_callbacks
    ):
        teacher_group = Group.objects.get(name="teacher")
        student_group = Group.objects.get(name="student")
        with django_capture_on_commit_callbacks(execute=True):
            teacher.groups.add(student_group)  # more, not less
            teacher.groups.add(Group.objects.create(name="chess-club"))
            teacher.groups.remove(Group.objects.get(name="chess-club"))  # not a role
        assert terminated == []
        with django_capture_on_commit_callbacks(execute=True):
            teacher.groups.remove(teacher_group)  # teacher -> student
        assert terminated == [str(teacher.pk)]
        with django_capture_on_commit_callbacks(execute=True):
            student_group.user_set.remove(student)  # reverse side, student -> none
        assert terminated == [str(teacher.pk), str(student.pk)]

    def test_group_cleared_from_either_side(
        self, terminated, teacher, student, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            Group.objects.get(name="student").user_set.clear()
            teacher.groups.clear()
        assert sorted(terminated) == sorted([str(student.pk), str(teacher.pk)])

    def test_superuser_flag_and_deletion(
        self, terminated, make_user, django_capture_on_commit_callbacks
    ):
        boss = make_user("boss", is_superuser=True)
        with django_capture_on_commit_callbacks(execute=True):
            boss.is_superuser = False
            boss.save()
        gone = make_user("gone", "student")
        gone_id = str(gone.pk)
        with django_capture_on_commit_callbacks(execute=True):
            gone.delete()
        assert terminated == [str(boss.pk), gone_id]

    def test_login_bookkeeping_costs_nothing(
        self, terminated, teacher, rf, django_assert_num_queries
    ):
        with django_assert_num_queries(1):  # just the UPDATE of last_login
            user_logged_in.send(sender=type(teacher), request=rf.get("/"), user=teacher)
        assert terminated == []

    def test_server_failure_never_breaks_the_save(
        self, monkeypatch, teacher, django_capture_on_commit_callbacks
    ):
        from django_toolbox_realtime.exceptions import RealtimeDeliveryError

        def refuse(uid):
            raise RealtimeDeliveryError("down")

        monkeypatch.setattr(server_api, "terminate_user_connections", refuse)
        with django_capture_on_commit_callbacks(execute=True):
            teacher.is_active = False
            teacher.save()
        teacher.refresh_from_db()
        assert teacher.is_active is False


@pytest.mark.integration
def test_revoke_user_closes_a_signed_in_socket_on_soketi(soketi, ws_client, student):
    victim, bystander = ws_client(), ws_client()
    signed = authenticate_user(victim.socket_id, str(student.pk))
    assert victim.signin(signed["auth"], signed["user_data"])["event"] == "pusher:signin_success"
    other = authenticate_user(bystander.socket_id, "someone-else")
    assert bystander.signin(other["auth"], other["user_data"])["event"] == "pusher:signin_success"

    assert revoke_user(student) == {"ok": True}

    error = victim.wait_for(lambda m: m["event"] == "pusher:error")
    assert error["data"]["code"] == 4009
    assert victim.wait_closed()[0] == 4009
    assert not bystander.closed.is_set()
