"""End to end: pusher-js in Node <-> soketi, authorizing through the Django live server
with Bearer tokens from ``/api/v1/auth/token``, on the demo data of ``seed_demo``."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from django_toolbox_realtime import revoke_user, send_to_user
from tests.auth.pusher_js import PusherJS

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pusher_js() -> Iterator[PusherJS]:
    driver = PusherJS()
    yield driver
    driver.close()


@pytest.fixture
def connect(
    soketi: Any, live_server: Any, pusher_js: PusherJS, demo: dict[str, User]
) -> Callable[[str], str]:
    """On the demo data, ``connect(username)`` opens a pusher-js client for that user
    (client id = username) with a token from the live server; returns its socket id."""
    outsider = User.objects.create_user("outsider", password="demo1234")
    outsider.groups.add(Group.objects.get(name="student"))

    def open_client(username: str) -> str:
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/auth/token",
            data=json.dumps({"username": username, "password": "demo1234"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            token = json.load(response)["token"]
        return pusher_js.connect(
            username,
            key=soketi.key,
            host=soketi.host,
            port=soketi.port,
            token=token,
            authEndpoint=f"{live_server.url}/api/v1/pusher/auth",
            userAuthEndpoint=f"{live_server.url}/api/v1/pusher/user-auth",
        )

    return open_client


def test_teacher_subscribes_private_teacher_but_not_private_admin(connect, pusher_js):
    connect("teacher")
    assert pusher_js.subscribe("teacher", "private-teacher")["event"] == "subscribed"
    refused = pusher_js.subscribe("teacher", "private-admin")
    assert refused["event"] == "subscription_error"
    assert refused["status"] == 403


def test_students_see_each_other_in_the_classroom_and_outsiders_stay_out(connect, pusher_js):
    connect("student")
    student = User.objects.get(username="student")
    student2 = User.objects.get(username="student2")
    first = pusher_js.subscribe("student", "presence-classroom-101")
    assert first["event"] == "subscribed"
    assert first["me"]["id"] == str(student.pk)

    connect("student2")
    second = pusher_js.subscribe("student2", "presence-classroom-101")
    assert second["event"] == "subscribed"
    members = {m["id"]: m["info"] for m in second["members"]}
    assert members[str(student.pk)] == {
        "name": "Sam Student",
        "role": "student",
        "avatar": None,
        "classroom_role": "student",
    }
    assert members[str(student2.pk)]["name"] == "Sky Student"
    added = pusher_js.wait_for(
        lambda e: e["id"] == "student" and e["event"] == "member_added",
        what="member_added on student's client",
    )
    assert added["member"] == {"id": str(student2.pk), "info": members[str(student2.pk)]}

    connect("outsider")  # a student, but not enrolled in classroom 101
    refused = pusher_js.subscribe("outsider", "presence-classroom-101")
    assert refused["event"] == "subscription_error" and refused["status"] == 403
    assert not [
        e for e in pusher_js.of("student", "member_added") if e["member"]["id"] != str(student2.pk)
    ]


def test_signed_in_user_receives_send_to_user_then_revoke_closes_it(connect, pusher_js):
    connect("student")
    connect("teacher")
    student = User.objects.get(username="student")
    assert pusher_js.subscribe("teacher", "private-teacher")["event"] == "subscribed"
    pusher_js.send("signin", "student")
    signed = pusher_js.wait_for(
        lambda e: e["id"] == "student" and e["event"] == "signin_success", what="signin_success"
    )
    assert json.loads(signed["user_data"])["id"] == str(student.pk)

    result = send_to_user(student.pk, "quiz-result", {"quiz": 1, "score": 3})
    assert result["sent"]
    received = pusher_js.wait_for(
        lambda e: e["id"] == "student" and e["event"] == "user_event", what="the send_to_user event"
    )
    assert received["name"] == "quiz-result" and received["data"] == {"quiz": 1, "score": 3}

    assert revoke_user(student) == {"ok": True}
    error = pusher_js.wait_for(
        lambda e: (
            e["id"] == "student"
            and e["event"] == "message"
            and e["message"].get("event") == "pusher:error"
        ),
        what="pusher:error after revoke",
    )
    assert error["message"]["data"]["code"] == 4009
    pusher_js.wait_for(
        lambda e: e["id"] == "student" and e["event"] == "state" and e["previous"] == "connected",
        what="the student's connection to close",
    )
    # The teacher's connection is untouched.
    assert not [e for e in pusher_js.of("teacher", "state") if e["previous"] == "connected"]
    assert not [
        e for e in pusher_js.of("teacher", "message") if e["message"].get("event") == "pusher:error"
    ]
