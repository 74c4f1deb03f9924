"""publish() with a real soketi and a real WebSocket client: immediate mode (no row,
a failure logged and not retried, the request unharmed) and the envelope inside an
encrypted channel's ciphertext."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os

import nacl.secret
import pytest
from django.db import transaction

from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.delivery import sender
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.exceptions import RealtimeValidationError
from django_toolbox_realtime.models import DeliveryLane, OutboxEvent
from django_toolbox_realtime.validation import MAX_PAYLOAD_BYTES
from tests.conftest import realtime_for
from tests.helpers import channel_auth

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _sender_idle():
    yield
    assert sender.wait_idle(20)


def test_immediate_mode_sends_after_commit_without_a_row(ws_client, settings, soketi):
    settings.TOOLBOX_REALTIME = realtime_for(soketi, DELIVERY="immediate")
    client = ws_client()
    client.subscribe("public-now")
    with transaction.atomic():
        [first] = publish([OutgoingEvent("", "now", ("public-now",), '{"n":1}')])
        [second] = publish([OutgoingEvent("", "now", ("public-now",), '{"n":2}')])
    received = client.wait_for_count("now", 2, channel="public-now")
    assert [json.loads(m["data"])["_rt"] for m in received] == [
        {"id": first.id, "seq": 1},
        {"id": second.id, "seq": 2},
    ]
    assert OutboxEvent.objects.count() == 0
    assert DeliveryLane.objects.get(channel="public-now").last_seq == 2


def test_immediate_mode_logs_a_failure_and_never_raises(settings, soketi, caplog):
    settings.TOOLBOX_REALTIME = realtime_for(soketi, DELIVERY="immediate", PORT=9)
    with caplog.at_level(logging.WARNING, "django_toolbox_realtime.delivery"):
        with transaction.atomic():
            publish([OutgoingEvent("", "now", ("public-now",), '{"n":1}')])
        assert sender.wait_idle(10)
    assert "not retried" in caplog.text and "cannot reach" in caplog.text
    assert OutboxEvent.objects.count() == 0


def test_the_envelope_travels_inside_the_ciphertext(ws_client, settings, soketi):
    master = base64.b64encode(os.urandom(32)).decode()
    settings.TOOLBOX_REALTIME = realtime_for(soketi, ENCRYPTION_MASTER_KEY_BASE64=master)
    channel = "private-encrypted-grades"
    client = ws_client()
    client.subscribe(
        channel, auth=channel_auth(soketi.key, soketi.secret, client.socket_id, channel)
    )
    [accepted] = publish([OutgoingEvent("", "grade", (channel,), '{"score":10}')])
    wire = json.loads(client.wait_for(lambda m: m["event"] == "grade")["data"])
    shared = hashlib.sha256(channel.encode() + base64.b64decode(master)).digest()
    plain = nacl.secret.SecretBox(shared).decrypt(
        base64.b64decode(wire["ciphertext"]), base64.b64decode(wire["nonce"])
    )
    assert json.loads(plain) == {"_rt": {"id": accepted.id, "seq": 1}, "score": 10}
    # An encrypted payload is refused at publish if its encrypted form would not fit.
    big = json.dumps({"text": "x" * (MAX_PAYLOAD_BYTES * 3 // 4)})
    with pytest.raises(RealtimeValidationError, match="encryption"):
        publish([OutgoingEvent("", "grade", (channel,), big)])
