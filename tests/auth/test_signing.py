"""Signatures: PROTOCOL.md's test vectors and the shapes pusher-js expects."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from django_toolbox_realtime import authenticate_channel, authenticate_user
from django_toolbox_realtime.crypto import shared_secret
from django_toolbox_realtime.exceptions import RealtimeConfigurationError, RealtimeValidationError
from tests.helpers import channel_auth, sign

VECTOR_KEY = "278d425bdf160c739803"
VECTOR_SECRET = "7ad3773142a6692b25b8"
VECTOR_SOCKET = "1234.1234"
MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def vector_credentials(settings):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "KEY": VECTOR_KEY,
        "SECRET": VECTOR_SECRET,
    }


def test_private_channel_vector(vector_credentials):
    result = authenticate_channel(VECTOR_SOCKET, "private-foobar")
    assert result == {
        "auth": f"{VECTOR_KEY}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
    }


def test_user_authentication_vector(vector_credentials):
    result = authenticate_user(VECTOR_SOCKET, "12345")
    assert result["user_data"] == '{"id":"12345"}'
    assert result["auth"] == (
        f"{VECTOR_KEY}:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
    )


def test_user_authentication_signs_exactly_the_returned_user_data(vector_credentials):
    info = {"name": "Zoë", "role": "student"}
    result = authenticate_user(VECTOR_SOCKET, 12345, info)
    assert result["user_data"] == '{"id":"12345","user_info":{"name":"Zoë","role":"student"}}'
    assert result["user_data"] == json.dumps(
        {"id": "12345", "user_info": info}, ensure_ascii=False, separators=(",", ":")
    )
    message = f"{VECTOR_SOCKET}::user::{result['user_data']}"
    assert result["auth"] == f"{VECTOR_KEY}:{sign(VECTOR_SECRET, message)}"
    with pytest.raises(RealtimeValidationError) as exc:
        authenticate_user(VECTOR_SOCKET, "1", {"bio": "€" * 400})  # 1,200 bytes of UTF-8
    assert exc.value.rule == "user_info_size" and "1,024" in str(exc.value)


def test_presence_signs_exactly_the_returned_channel_data(vector_credentials):
    info = {"name": "Zoë", "role": "student"}
    result = authenticate_channel(VECTOR_SOCKET, "presence-room", user_id=7, user_info=info)
    assert json.loads(result["channel_data"]) == {"user_id": "7", "user_info": info}
    assert result["channel_data"] == '{"user_id":"7","user_info":{"name":"Zoë","role":"student"}}'
    bare = authenticate_channel(VECTOR_SOCKET, "presence-room", user_id="u-1")
    assert bare["channel_data"] == '{"user_id":"u-1"}'
    assert result["auth"] == channel_auth(
        VECTOR_KEY, VECTOR_SECRET, VECTOR_SOCKET, "presence-room", result["channel_data"]
    )
    assert result["auth"] != channel_auth(
        VECTOR_KEY, VECTOR_SECRET, VECTOR_SOCKET, "presence-room", result["channel_data"] + " "
    )
    assert bare["auth"] == channel_auth(
        VECTOR_KEY, VECTOR_SECRET, VECTOR_SOCKET, "presence-room", '{"user_id":"u-1"}'
    )


def test_presence_needs_a_user_id(vector_credentials):
    with pytest.raises(RealtimeValidationError) as exc:
        authenticate_channel(VECTOR_SOCKET, "presence-room")
    assert exc.value.rule == "user_id_type"


def test_presence_user_id_and_info_limits(vector_credentials):
    with pytest.raises(RealtimeValidationError) as exc:
        authenticate_channel(VECTOR_SOCKET, "presence-room", user_id="u" * 129)
    assert exc.value.rule == "user_id_length" and exc.value.limit == 128
    authenticate_channel(VECTOR_SOCKET, "presence-room", user_id="u" * 128)
    with pytest.raises(RealtimeValidationError) as exc:
        authenticate_channel(
            VECTOR_SOCKET, "presence-room", user_id=1, user_info={"bio": "€" * 400}
        )  # 1,200 bytes of UTF-8
    assert exc.value.rule == "user_info_size" and "1,024" in str(exc.value)


def test_encrypted_channel_returns_the_shared_secret(settings, vector_credentials):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ENCRYPTION_MASTER_KEY_BASE64": MASTER_KEY,
    }
    result = authenticate_channel(VECTOR_SOCKET, "private-encrypted-grades")
    expected = base64.b64encode(
        hashlib.sha256(b"private-encrypted-grades" + bytes(range(32))).digest()
    ).decode()
    assert result["shared_secret"] == expected == shared_secret("private-encrypted-grades")
    assert result["auth"] == channel_auth(
        VECTOR_KEY, VECTOR_SECRET, VECTOR_SOCKET, "private-encrypted-grades"
    )


@pytest.mark.parametrize("master", [None, "", "not base64!", base64.b64encode(b"short").decode()])
def test_encrypted_channel_without_a_usable_master_key(settings, master):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ENCRYPTION_MASTER_KEY_BASE64": master,
    }
    with pytest.raises(RealtimeConfigurationError, match="ENCRYPTION_MASTER_KEY_BASE64"):
        authenticate_channel(VECTOR_SOCKET, "private-encrypted-grades")


@pytest.mark.parametrize("channel", ["public-dashboard", "agent-status", "#server-to-user-1"])
def test_public_and_user_channels_are_never_signed(channel):
    with pytest.raises(RealtimeValidationError):
        authenticate_channel(VECTOR_SOCKET, channel)


@pytest.mark.parametrize("secret", [None, "", "  ", "your_secret_key"])
def test_no_signature_without_a_real_secret(settings, secret):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "SECRET": secret}
    with pytest.raises(RealtimeConfigurationError) as exc:
        authenticate_channel(VECTOR_SOCKET, "private-foobar")
    assert "SECRET" in str(exc.value)
    with pytest.raises(RealtimeConfigurationError):
        authenticate_user(VECTOR_SOCKET, "1")


@pytest.mark.parametrize(
    "socket_id", ["1.1:private-admin", "1.1\n", "١٢٣.٤٥٦", "", "1" * 10_000, ["1.1"], 1.1, None]
)
def test_bad_socket_ids(socket_id):
    with pytest.raises(RealtimeValidationError):
        authenticate_channel(socket_id, "private-foobar")
    with pytest.raises(RealtimeValidationError):
        authenticate_user(socket_id, "1")
