"""Cases 13-20: webhooks (``/webhook``)."""

from __future__ import annotations

import json
from typing import Any

from django_toolbox_realtime import online_users
from django_toolbox_realtime.models import ChannelState, PresenceMember
from tests.helpers import sign
from tests.security.cases import HOOK, JSON, KEY, SECRET, case, events, hook, now_ms


def joined(user: str = "7", channel: str = "presence-room") -> dict[str, Any]:
    return {"name": "member_added", "channel": channel, "user_id": user}


def nothing_stored() -> bool:
    return not ChannelState.objects.exists() and not PresenceMember.objects.exists()


@case(13, "bad-key-or-signature-changes-nothing")
def _(client: Any) -> None:
    raw = json.dumps(events(joined())).encode()
    good = sign(SECRET, raw)
    for key, signature in [
        ("unknown-key", good),
        (KEY, sign("wrong", raw)),
        (KEY, good[:-4]),
        (KEY, good.upper()),
        (None, good),
        (KEY, None),
    ]:
        headers = {"HTTP_X_PUSHER_KEY": key, "HTTP_X_PUSHER_SIGNATURE": signature}
        sent = {k: v for k, v in headers.items() if v is not None}
        response = client.post(HOOK, raw, content_type=JSON, **sent)
        assert response.status_code in (400, 401), (key, signature, response.content)
    assert nothing_stored()


@case(14, "body-changed-after-signing")
def _(client: Any) -> None:
    body = events(joined())
    raw = json.dumps(body).encode()
    headers = {"HTTP_X_PUSHER_KEY": KEY, "HTTP_X_PUSHER_SIGNATURE": sign(SECRET, raw)}
    for changed in [json.dumps(body, separators=(",", ":")).encode(), raw + b" ", b" " + raw]:
        assert client.post(HOOK, changed, content_type=JSON, **headers).status_code == 401
    assert nothing_stored()


@case(15, "malformed-bodies")
def _(client: Any) -> None:
    t = now_ms()
    for body in [
        b"not json",
        b"[1, 2]",
        json.dumps({"time_ms": t, "events": {"name": "member_added"}}).encode(),
        json.dumps({"time_ms": t, "events": [{"channel": "presence-room"}]}).encode(),
    ]:
        assert hook(client, body).status_code == 400, body
    assert nothing_stored()


@case(16, "replayed-body-is-a-no-op")
def _(client: Any) -> None:
    raw = json.dumps(events(joined())).encode()
    assert hook(client, raw).json()["processed"] == 1
    hook(client, events({**joined(), "name": "member_removed"}, t=now_ms() + 1))
    assert online_users("presence-room") == []
    second = hook(client, raw)  # the join again, replayed
    assert second.status_code == 200 and second.json()["duplicate"] is True
    assert online_users("presence-room") == []


@case(17, "bad-time-ms")
def _(client: Any, settings: Any) -> None:
    tolerance = 330_000
    for t in [now_ms() - tolerance - 60_000, now_ms() + tolerance + 60_000, "NaN", str(now_ms())]:
        assert hook(client, events(joined(), t=t)).status_code == 400, t  # type: ignore[arg-type]
    assert hook(client, b'{"time_ms": NaN, "events": []}').status_code == 400
    assert hook(client, {"events": [joined()]}).status_code == 400
    assert nothing_stored()


@case(18, "secret-rotation")
def _(client: Any, settings: Any) -> None:
    realtime = settings.TOOLBOX_REALTIME
    settings.TOOLBOX_REALTIME = {**realtime, "WEBHOOK_SECRETS": [SECRET, "next-secret-0123456789"]}
    assert hook(client, events(joined("1")), secret="next-secret-0123456789").status_code == 200
    assert hook(client, events(joined("2")), secret=SECRET).status_code == 200
    settings.TOOLBOX_REALTIME = {**realtime, "WEBHOOK_SECRETS": [SECRET]}
    assert hook(client, events(joined("3")), secret="next-secret-0123456789").status_code == 401
    assert online_users("presence-room") == ["1", "2"]


@case(19, "unknown-events-skipped-known-applied")
def _(client: Any) -> None:
    answer = hook(client, events({"name": "from_the_future", "channel": "x"}, joined())).json()
    assert (answer["processed"], answer["skipped"]) == (1, 1)
    assert online_users("presence-room") == ["7"]


@case(20, "oversized-body-413-before-parsing")
def _(client: Any, settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "WEBHOOK_MAX_BODY_BYTES": 1_000}
    big = b"{" + b" " * 2_000 + b"}"  # not even JSON: never parsed
    assert client.post(HOOK, big, content_type=JSON).status_code == 413
    assert hook(client, big).status_code == 413
    assert nothing_stored()
