"""Delivery through the real HTTP API of a real soketi, received by a real WebSocket client."""

import base64
import hashlib
import json
import os
import socket
import time

import nacl.secret
import pytest

from django_toolbox_realtime import (
    RealtimeDeliveryError,
    RealtimeValidationError,
    send_to_user,
    trigger_batch,
    trigger_event,
)
from django_toolbox_realtime.backends import http_client
from tests.conftest import realtime_for
from tests.helpers import channel_auth, sign
from tests.soketi import SoketiServer

pytestmark = [pytest.mark.integration]


@pytest.fixture
def count_requests(monkeypatch):
    calls = []
    original = http_client.send

    def counting(method, path, params=None):
        calls.append((method, path))
        return original(method, path, params)

    monkeypatch.setattr(http_client, "send", counting)
    return calls


def test_trigger_event_arrives(ws_client):
    client = ws_client()
    assert client.subscribe("public-dashboard")["event"] == "pusher_internal:subscription_succeeded"
    result = trigger_event(channel="public-dashboard", event="hello", data={"n": 1, "t": "é€"})
    message = client.wait_for(lambda m: m["event"] == "hello")
    assert message["channel"] == "public-dashboard"
    assert json.loads(message["data"]) == {"n": 1, "t": "é€"}
    assert result["sent"] and result["id"]


def test_batch_of_25_is_3_requests_and_arrives_in_order(ws_client, count_requests):
    client = ws_client()
    client.subscribe("public-batch")
    result = trigger_batch(
        [{"channel": "public-batch", "event": "step", "data": {"i": i}} for i in range(25)]
    )
    assert result["requests"] == 3
    assert count_requests == [("POST", "/batch_events")] * 3
    received = client.wait_for_count("step", 25, channel="public-batch")
    assert [json.loads(m["data"])["i"] for m in received] == list(range(25))


def test_fan_out_to_250_channels_arrives_everywhere(ws_client, count_requests):
    client = ws_client()
    channels = [f"public-fan-{i}" for i in range(250)]
    for name in channels:
        client.subscribe(name, wait=False)
    client.wait_for_count("pusher_internal:subscription_succeeded", 250)
    result = trigger_event(channels=channels, event="fan", data={"ok": True})
    assert result["requests"] == 3 and len(count_requests) == 3
    received = client.wait_for_count("fan", 250)
    assert sorted(m["channel"] for m in received) == sorted(channels)


def test_over_limit_payload_fails_before_the_network(soketi, count_requests):
    with pytest.raises(RealtimeValidationError) as info:
        trigger_event("public-a", "too-big", {"text": "€" * 4000})
    assert "10,240" in str(info.value) and info.value.value > 10_240
    assert count_requests == []


def test_send_to_user_reaches_a_signed_in_socket(ws_client, soketi):
    client = ws_client()
    user_data = json.dumps({"id": "77"})
    auth = f"{soketi.key}:{sign(soketi.secret, f'{client.socket_id}::user::{user_data}')}"
    assert client.signin(auth, user_data)["event"] == "pusher:signin_success"
    send_to_user(77, "note", {"text": "hi"})
    message = client.wait_for(lambda m: m["event"] == "note")
    assert json.loads(message["data"]) == {"text": "hi"}


def test_encrypted_channel_payload_is_ciphertext_clients_can_open(ws_client, soketi, settings):
    master = base64.b64encode(os.urandom(32)).decode()
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ENCRYPTION_MASTER_KEY_BASE64": master,
    }
    client = ws_client()
    channel = "private-encrypted-grades"
    ok = client.subscribe(
        channel, auth=channel_auth(soketi.key, soketi.secret, client.socket_id, channel)
    )
    assert ok["event"] == "pusher_internal:subscription_succeeded"
    trigger_event(channel, "grade", {"score": 10})
    wire = json.loads(client.wait_for(lambda m: m["event"] == "grade")["data"])
    assert "score" not in json.dumps(wire)  # the server only saw ciphertext
    shared = hashlib.sha256(channel.encode() + base64.b64decode(master)).digest()
    plain = nacl.secret.SecretBox(shared).decrypt(
        base64.b64decode(wire["ciphertext"]), base64.b64decode(wire["nonce"])
    )
    assert json.loads(plain) == {"score": 10}


def test_wrong_secret_is_a_clear_non_retryable_error(soketi, settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "SECRET": "not-the-secret-1234"}
    with pytest.raises(RealtimeDeliveryError) as info:
        trigger_event("public-a", "e", {})
    assert info.value.status == 401 and info.value.retryable is False
    assert "KEY and SECRET" in str(info.value)
    assert "not-the-secret-1234" not in str(info.value)


def test_stopped_server_raises_delivery_error_within_the_timeout(settings):
    server = SoketiServer(settings.TEST_APP_ID, settings.TEST_KEY, settings.TEST_SECRET).start()
    try:
        settings.TOOLBOX_REALTIME = realtime_for(server, TIMEOUT=2)
        assert trigger_event("public-a", "before", {})["sent"]
    finally:
        server.stop()
    started = time.monotonic()
    with pytest.raises(RealtimeDeliveryError) as info:
        trigger_event("public-a", "after", {})
    assert time.monotonic() - started < 2 + 1
    assert info.value.status is None and info.value.retryable is True
    assert isinstance(info.value.__cause__, Exception)
    assert "cannot reach" in str(info.value)
    result = trigger_event("public-a", "after", {}, fail_silently=True)
    assert result["sent"] is False


def test_server_that_never_answers_times_out(settings):
    # A listening socket that never accepts: connect succeeds (backlog), no answer comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        settings.TOOLBOX_REALTIME = {
            **settings.TOOLBOX_REALTIME,
            "PORT": port,
            "TIMEOUT": 0.5,
            "BACKEND": "django_toolbox_realtime.backends.pusher.PusherBackend",
        }
        started = time.monotonic()
        with pytest.raises(RealtimeDeliveryError) as info:
            trigger_event("public-a", "e", {})
        assert time.monotonic() - started < 0.5 + 1.5
    assert "within 0.5 s" in str(info.value) and info.value.retryable
