"""Cases 29-39: found from outside (after the first release candidate was attacked)."""

from __future__ import annotations

import io
import json
from typing import Any

from django_toolbox_realtime import decide
from django_toolbox_realtime.backends import locmem
from django_toolbox_realtime.models import ChannelState, WebhookDelivery
from tests.security.cases import (
    AUTH,
    BATCH,
    DENIED,
    HISTORY,
    HOOK,
    JSON,
    USER_AUTH,
    auth,
    case,
    events,
    hook,
    post,
    refused,
)

DEEP = (
    '{"socket_id": "1.2", "channel_name": "private-student", "x": ' + "[" * 5000 + "]" * 5000 + "}"
)


@case(29, "per-user-channel-only-its-user")
def _(cases_world: Any) -> None:
    stu, tea = (cases_world.users[n].pk for n in ("stu", "tea"))
    assert auth(cases_world, f"private-user-{stu}").status_code == 200
    for other in [f"private-user-{tea}", f"private-user-0{stu}", "private-user-stu"]:
        refused(auth(cases_world, other), 403)
        assert decide(cases_world.users["stu"], other).reason  # denied with a reason


@case(30, "deep-json-is-400-never-recursion-error")
def _(cases_world: Any, client: Any) -> None:
    for url in [AUTH, USER_AUTH, BATCH]:
        refused(post(cases_world, "bearer:stu", url, DEEP.encode(), JSON), 400)
    assert hook(client, DEEP.encode()).status_code == 400


@case(31, "lying-content-length-is-400")
def _(cases_world: Any, client: Any) -> None:
    body = b"socket_id=1.2&channel_name=private-student"
    for declared in ["abc", "-1", str(len(body) + 10)]:
        extra = {"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": declared}
        for url in [AUTH, HOOK]:
            refused_or_hook = post(cases_world, "bearer:stu", url, body, **extra)
            assert refused_or_hook.status_code == 400, (url, declared)


@case(32, "webhook-repeated-key-is-400")
def _(client: Any) -> None:
    raw = json.dumps(events()).replace('"events"', '"time_ms": 1, "events"').encode()
    assert hook(client, raw).status_code == 400


@case(33, "anonymous-health-says-no-names-no-server")
def _(client: Any) -> None:
    member = {"name": "member_added", "channel": "presence-secret-room", "user_id": "1"}
    occupied = {"name": "channel_occupied", "channel": "private-hidden"}
    assert hook(client, events(member, occupied)).status_code == 200
    for path in [
        "/health",
        "/health/pusher/status",
        "/api/v1/pusher/health",
        "/api/v1/pusher/status",
    ]:
        text = client.get(path).content.decode()
        for secret in ["presence-secret-room", "private-hidden", "127.0.0.1", "Backend", "reason"]:
            assert secret not in text, (path, secret)


@case(34, "forged-webhook-flood-bounded-health-healthy")
def _(client: Any, settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "WEBHOOK_REJECTIONS_LOGGED": 5}
    before = client.get("/health").json()["data"]["status"]
    for i in range(40):
        assert hook(client, events(), secret=f"forged-{i}").status_code == 401
    assert WebhookDelivery.objects.count() <= 5
    assert client.get("/health").json()["data"]["status"] == before


@case(35, "invented-public-channels-bounded")
def _(client: Any, settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "STATE_MAX_PUBLIC_CHANNELS": 5}
    invented = [{"name": "channel_occupied", "channel": f"made-up-{i}"} for i in range(30)]
    assert hook(client, events(*invented)).status_code == 200
    assert ChannelState.objects.filter(name__startswith="made-up-").count() <= 5


@case(36, "token-password-guessing-throttled")
def _(demo: Any, client: Any) -> None:
    codes = [
        client.post(
            "/api/v1/auth/token", {"username": "student", "password": f"guess{i}"}
        ).status_code
        for i in range(8)
    ]
    assert 429 in codes and codes[-1] == 429


@case(37, "batch-each-channel-on-its-own-limit-400")
def _(cases_world: Any) -> None:
    body = {"socket_id": "1.2", "channels": ["private-student", "private-admin", "private-a:b"]}
    answers = post(cases_world, "bearer:stu", BATCH, json.dumps(body).encode(), JSON).json()[
        "channels"
    ]
    assert "auth" in answers["private-student"]
    assert answers["private-admin"] == {"status": 403, "error": "Forbidden"}
    assert answers["private-a:b"]["status"] == 400 and "auth" not in answers["private-a:b"]
    many = {"socket_id": "1.2", "channels": [f"private-{i}" for i in range(51)]}
    refused(post(cases_world, "bearer:stu", BATCH, json.dumps(many).encode(), JSON), 400)


@case(38, "malformed-x-socket-id-ignored")
def _(demo: Any, client: Any, django_capture_on_commit_callbacks: Any) -> None:
    client.force_login(demo["admin"])
    for bad in ["garbage", "1.2:x", "١.٢", "1" * 500]:
        locmem.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/api/v1/agents/grader/status",
                {"status": "busy"},
                content_type=JSON,
                HTTP_X_SOCKET_ID=bad,
            )
        assert response.status_code == 200, response.content
        assert locmem.outbox and all(e.socket_id is None for e in locmem.outbox)


@case(39, "history-same-403-as-auth-bad-after-400")
def _(cases_world: Any) -> None:
    client, credentials = cases_world.clients["bearer:stu"]
    denied = client.get(HISTORY, {"channel": "private-admin"}, **credentials)
    assert (denied.status_code, denied.json()) == (403, DENIED)
    assert auth(cases_world, "private-admin").json() == DENIED
    for after in ["x", "-1", "1.5"]:
        got = client.get(HISTORY, {"channel": "private-student", "after": after}, **credentials)
        assert got.status_code == 400
