"""Laravel Echo from npm (broadcaster "pusher", pusher-js) in Node against the live
Django server and soketi, changing only what a Laravel front end changes:
``authEndpoint`` (and the user-auth endpoint), with the session cookie and Echo's own
``X-CSRF-TOKEN``. Private, presence (here / joining / leaving), encrypted private, a
refused channel, and ``toOthers`` through ``X-Socket-ID``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User

from django_toolbox_realtime import trigger_event
from django_toolbox_realtime.authorization.presence import user_info_for
from django_toolbox_realtime.models import ChannelPolicy
from tests.conftest import realtime_for
from tests.frontend.node_lines import ROOT, NodeLines
from tests.helpers import cookie_header, demo_session

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCRIPT = ROOT / "tests" / "js" / "echo" / "echo_client.mjs"
MASTER_KEY = base64.b64encode(bytes(range(7, 39))).decode()


@pytest.fixture
def echo() -> Iterator[NodeLines]:
    driver = NodeLines(SCRIPT)
    yield driver
    driver.close()


def log_in(base: str, username: str) -> tuple[str, str]:
    """Sign in through the login page: (Cookie header, CSRF token) of the session."""
    session = demo_session(base, username)
    return cookie_header(session), session.cookies["csrftoken"]


@pytest.fixture
def connect(
    soketi: Any, settings: Any, live_server: Any, echo: NodeLines, demo: dict[str, User]
) -> Callable[..., str]:
    """``connect(client_id, username)``: an Echo client signed in as ``username`` by
    session; returns its socket id."""
    settings.TOOLBOX_REALTIME = realtime_for(soketi, ENCRYPTION_MASTER_KEY_BASE64=MASTER_KEY)
    ChannelPolicy.objects.create(channel="private-encrypted-grades", min_role="student")

    def open_client(client_id: str, username: str) -> str:
        cookie, csrf = log_in(live_server.url, username)
        echo.send(
            "connect",
            client_id,
            key=soketi.key,
            host=soketi.host,
            port=soketi.port,
            authEndpoint=f"{live_server.url}/api/v1/pusher/auth",
            userAuthEndpoint=f"{live_server.url}/api/v1/pusher/user-auth",
            csrfToken=csrf,
            cookie=cookie,
        )
        return str(echo.expect(client_id, "connected")["socket_id"])

    return open_client


def test_private_channel_and_a_refused_one(connect, echo):
    connect("teacher", "teacher")
    echo.send("private", "teacher", name="teacher", event=".quiz-submitted")
    echo.expect("teacher", "subscribed", channel="private-teacher")
    echo.send("private", "teacher", name="admin")
    refused = echo.expect("teacher", "error", channel="private-admin")
    assert refused["status"] == 403
    trigger_event(channel="private-teacher", event="quiz-submitted", data={"score": 3})
    got = echo.expect("teacher", "event", channel="private-teacher")
    assert got["data"]["score"] == 3
    assert not echo.of("teacher", "subscribed", channel="private-admin")


def test_presence_here_joining_leaving(connect, echo, demo):
    names = {u: user_info_for(demo[u])["name"] for u in ("student", "student2")}
    connect("s1", "student")
    echo.send("join", "s1", name="classroom-101")
    here = echo.expect("s1", "here", channel="presence-classroom-101")
    assert [m["name"] for m in here["members"]] == [names["student"]]

    connect("s2", "student2")
    echo.send("join", "s2", name="classroom-101")
    both = echo.expect("s2", "here", channel="presence-classroom-101")
    assert sorted(m["name"] for m in both["members"]) == sorted(names.values())
    joined = echo.expect("s1", "joining", channel="presence-classroom-101")
    assert joined["member"]["name"] == names["student2"]

    echo.send("leave", "s2", name="classroom-101")
    left = echo.expect("s1", "leaving", channel="presence-classroom-101")
    assert left["member"]["name"] == names["student2"]


def test_encrypted_private_channel_is_decrypted_by_echo(connect, echo):
    connect("s1", "student")
    echo.send("encryptedPrivate", "s1", name="grades", event=".grade")
    echo.expect("s1", "subscribed", channel="private-encrypted-grades")
    trigger_event(channel="private-encrypted-grades", event="grade", data={"score": 9})
    got = echo.expect("s1", "event", channel="private-encrypted-grades")
    assert got["data"]["score"] == 9 and "ciphertext" not in got["data"]


def test_to_others_skips_the_sender(connect, echo, live_server):
    connect("sender", "admin")
    connect("other", "teacher")
    for client in ("sender", "other"):
        for event in (".agent.busy", ".agent.idle"):
            echo.send("channel", client, name="agent-status", event=event)
        echo.expect(client, "subscribed", channel="agent-status")
    token = requests.post(
        f"{live_server.url}/api/v1/auth/token",
        json={"username": "admin", "password": "demo1234"},
        timeout=10,
    ).json()["token"]
    url = f"{live_server.url}/api/v1/agents/grader/status"
    bearer = {"Authorization": f"Bearer {token}"}
    # The sender's request carries its X-Socket-ID (what Echo's interceptors add).
    echo.send("post", "sender", url=url, body={"status": "busy"}, headers=bearer)
    assert echo.expect("sender", "posted")["status"] == 200
    busy = echo.expect("other", "event", name=".agent.busy")
    assert busy["data"]["status"] == "busy"
    # A later change without the header reaches the sender: had the first reached it,
    # it would have arrived before this one.
    response = requests.post(
        url,
        data=json.dumps({"status": "idle"}),
        headers={**bearer, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    echo.expect("sender", "event", name=".agent.idle")
    assert not echo.of("sender", "event", name=".agent.busy")
