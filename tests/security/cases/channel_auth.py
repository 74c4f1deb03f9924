"""Cases 1-12: channel authorization (``/auth``, ``/user-auth``)."""

from __future__ import annotations

import json
from typing import Any

from django.core.checks import Error, run_checks

from django_toolbox_realtime.models import ChannelPolicy
from tests.fuzz.oracle import check_channel_answer
from tests.security.cases import AUTH, DENIED, JSON, auth, case, post, refused

PUSHER = "django_toolbox_realtime.backends.pusher.PusherBackend"


@case(1, "bad-socket-id")
def _(cases_world: Any) -> None:
    for bad in ["1.1:private-admin", "1.1\n", "١٢٣.٤٥٦", "", "1." + "1" * 10_000]:
        refused(auth(cases_world, "private-student", bad), 400)
    for bad in [["1.2"], 12, None]:
        body = json.dumps({"socket_id": bad, "channel_name": "private-student"}).encode()
        refused(post(cases_world, "bearer:stu", body=body, ctype=JSON), 400)


@case(2, "bad-channel-name")
def _(cases_world: Any) -> None:
    for bad in [
        "private-a:b",
        "private-a\n",
        "private- a",
        "private-#",
        "private-é",
        "p" * 165,
        "",
    ]:
        refused(auth(cases_world, bad), 400)


@case(3, "public-and-server-to-user-never-signed")
def _(cases_world: Any) -> None:
    for channel in [
        "public-dashboard",
        "agent-status",
        f"#server-to-user-{cases_world.users['stu'].pk}",
    ]:
        refused(auth(cases_world, channel), 400, 403)


@case(4, "pattern-confusion")
def _(cases_world: Any) -> None:
    assert auth(cases_world, "presence-classroom-101").status_code == 200  # the rule matches
    for channel in [
        "presence-classroom-101-extra",
        "presence-classroom-1.2",
        "presence-classroom-",
    ]:
        refused(auth(cases_world, channel), 403)
    refused(auth(cases_world, "xpresence-classroom-101"), 403)  # public: never signed


@case(5, "anonymous-gets-json-403")
def _(cases_world: Any) -> None:
    response = auth(cases_world, "private-student", login="anonymous")
    refused(response, 403)
    assert response["Content-Type"] == "application/json" and "Location" not in response


@case(6, "missing-and-forbidden-objects-alike")
def _(cases_world: Any) -> None:
    missing, foreign = (
        auth(cases_world, "presence-classroom-999"),
        auth(cases_world, "presence-classroom-102"),
    )
    assert (
        (missing.status_code, missing.content)
        == (foreign.status_code, foreign.content)
        == (403, json.dumps(DENIED, separators=(",", ":")).encode())
    )


@case(7, "client-presence-data-ignored")
def _(cases_world: Any) -> None:
    fields = {
        "socket_id": "1.2",
        "channel_name": "presence-classroom-101",
        "channel_data": '{"user_id": "1", "user_info": {"name": "root"}}',
        "user_id": "999",
    }
    answer = post(cases_world, "bearer:stu", body=fields).json()
    check_channel_answer(cases_world, "bearer:stu", "1.2", "presence-classroom-101", answer)
    assert "root" not in answer["channel_data"]


@case(8, "no-jsonp-csrf-required-no-wildcard-cors")
def _(cases_world: Any) -> None:
    client, credentials = cases_world.clients["bearer:stu"]
    got = client.get(AUTH + "?callback=x&socket_id=1.2&channel_name=private-student", **credentials)
    assert got.status_code == 405 and not got.content.startswith(b"x(")
    browser, _ = cases_world.clients["session:stu"]  # session cookie, no CSRF token
    refused(
        browser.post(
            AUTH,
            {"socket_id": "1.2", "channel_name": "private-student"},
            HTTP_ORIGIN="https://evil.example",
        ),
        403,
    )
    answer = post(
        cases_world,
        "bearer:stu",
        body={"socket_id": "1.2", "channel_name": "private-student"},
        HTTP_ORIGIN="https://evil.example",
    )
    assert (
        answer.get("Access-Control-Allow-Origin") in (None, "")
        or "Access-Control-Allow-Credentials" not in answer
    )


@case(9, "duplicate-keys-and-non-string-values")
def _(cases_world: Any) -> None:
    refused(
        post(
            cases_world,
            "bearer:stu",
            body=b"socket_id=1.2&channel_name=private-admin&channel_name=private-student",
        ),
        400,
    )
    for value in ["null", "[]", "{}", "1"]:
        raw = f'{{"socket_id": "1.2", "channel_name": {value}}}'.encode()
        refused(post(cases_world, "bearer:stu", body=raw, ctype=JSON), 400)
    raw = (
        b'{"socket_id": "1.2", "channel_name": "private-admin", "channel_name": "private-student"}'
    )
    refused(post(cases_world, "bearer:stu", body=raw, ctype=JSON), 400)


@case(10, "no-usable-secret-refuses-to-sign")
def _(cases_world: Any, settings: Any) -> None:
    realtime = settings.TOOLBOX_REALTIME  # a missing secret errors when events go to a server
    for secret in [None, "", "your_secret_key"]:
        settings.TOOLBOX_REALTIME = {**realtime, "SECRET": secret, "BACKEND": PUSHER}
        response = auth(cases_world, "private-student")
        refused(response, 503)
        assert "SECRET" in response.json()["detail"]
        assert any(isinstance(m, Error) and "SECRET" in m.msg for m in run_checks())
        health = cases_world.clients["anonymous"][0].get("/health").json()["data"]
        assert health["status"] == "unhealthy", health


@case(11, "unknown-role-and-no-role-least-privilege")
def _(cases_world: Any) -> None:
    for login in ["bearer:ghost", "bearer:nobody"]:
        refused(auth(cases_world, "private-student", login=login), 403)
        refused(auth(cases_world, "private-wizards", login=login), 403)


@case(12, "policy-edit-applies-on-the-next-request")
def _(cases_world: Any) -> None:
    assert auth(cases_world, "private-student").status_code == 200
    policy = ChannelPolicy.objects.get(channel="private-student")
    policy.is_active = False
    policy.save()
    refused(auth(cases_world, "private-student"), 403)
    policy.is_active, policy.min_role = True, "teacher"
    policy.save()
    refused(auth(cases_world, "private-student"), 403)
    assert auth(cases_world, "private-student", login="bearer:tea").status_code == 200
