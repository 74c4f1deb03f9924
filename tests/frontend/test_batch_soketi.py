"""End to end: the auths of one batch request open private, presence and encrypted
subscriptions on a real soketi for a real WebSocket client; the refused channel
fails alone."""

from __future__ import annotations

import base64
import json

import nacl.secret
import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from django_toolbox_realtime import trigger_event
from django_toolbox_realtime.models import ChannelPolicy
from example_project.classroom.models import Classroom
from tests.conftest import realtime_for
from tests.helpers import bearer_headers

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

MASTER_KEY = base64.b64encode(bytes(range(100, 132))).decode()
SUCCEEDED, FAILED = "pusher_internal:subscription_succeeded", "pusher:subscription_error"


@pytest.fixture
def student(db):
    user = User.objects.create_user("stu", password="pw-12345", first_name="Sam")
    user.groups.add(Group.objects.get_or_create(name="student")[0])
    for channel, role in [
        ("private-student", "student"),
        ("private-teacher", "teacher"),
        ("presence-classroom-{id}", "student"),
        ("private-encrypted-grades", "student"),
    ]:
        ChannelPolicy.objects.create(channel=channel, min_role=role)
    Classroom.objects.create(pk=101, name="101").students.add(user)
    return user


def test_one_batch_opens_every_allowed_subscription(soketi, settings, ws_client, student):
    settings.TOOLBOX_REALTIME = realtime_for(soketi, ENCRYPTION_MASTER_KEY_BASE64=MASTER_KEY)
    browser = ws_client()
    channels = [
        "private-student",
        "presence-classroom-101",
        "private-encrypted-grades",
        "private-teacher",
    ]
    response = Client().post(
        "/api/v1/pusher/auth/batch",
        json.dumps({"socket_id": browser.socket_id, "channels": channels}),
        content_type="application/json",
        **bearer_headers(student),
    )
    assert response.status_code == 200, response.content
    answers = response.json()["channels"]
    assert answers["private-teacher"] == {"status": 403, "error": "Forbidden"}

    for channel in channels[:3]:
        answer = answers[channel]
        result = browser.subscribe(channel, answer["auth"], answer.get("channel_data"))
        assert result is not None and result["event"] == SUCCEEDED, result
    presence = browser.wait_for(
        lambda m: m["event"] == SUCCEEDED and m["channel"] == "presence-classroom-101"
    )
    assert json.loads(presence["data"])["presence"]["ids"] == [str(student.pk)]

    # The refused channel has no auth: a borrowed one is refused by soketi, and only
    # that subscription fails (private-student still gets its events below).
    borrowed = browser.subscribe("private-teacher", answers["private-student"]["auth"])
    assert borrowed is not None and borrowed["event"] in (FAILED, "pusher:error")

    # The shared secret the batch returned decrypts what the server sends.
    trigger_event(channel="private-encrypted-grades", event="grade", data={"score": 9})
    wire = json.loads(browser.wait_for(lambda m: m["event"] == "grade")["data"])
    box = nacl.secret.SecretBox(
        base64.b64decode(answers["private-encrypted-grades"]["shared_secret"])
    )
    plain = box.decrypt(base64.b64decode(wire["ciphertext"]), base64.b64decode(wire["nonce"]))
    assert json.loads(plain)["score"] == 9
    trigger_event(channel="private-student", event="note", data={"n": 1})
    assert json.loads(browser.wait_for(lambda m: m["event"] == "note")["data"])["n"] == 1
