"""What a fuzz test checks about an answer, written independently of the app:
the body the server read (parsed here with the standard library), and that a
signature is exactly the one PROTOCOL.md defines, for a channel the oracle allows."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings as django_settings

from tests.fuzz.strategies import FORM, JSON
from tests.fuzz.world import World, valid_socket_id
from tests.helpers import channel_auth, sign

KEY, SECRET = django_settings.TEST_KEY, django_settings.TEST_SECRET


class Unparsable(Exception):
    """The body is not one clean form or JSON object: nothing may be signed for it."""


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Unparsable("a repeated key")
    return dict(pairs)


def read_fields(body: bytes, content_type: str) -> dict[str, Any]:
    """The fields of a body as a server must read it: UTF-8, form or JSON by the
    media type, no repeated key (at any depth), a JSON object."""
    media = content_type.partition(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
        if media == JSON:
            data = json.loads(text, object_pairs_hook=_no_repeats)
        elif media == FORM:
            data = _no_repeats(parse_qsl(text, keep_blank_values=True))
        else:
            raise Unparsable(f"media type {media!r}")
    except (ValueError, RecursionError) as exc:
        raise Unparsable(str(exc)) from exc
    if not isinstance(data, dict):
        raise Unparsable("not an object")
    return data


def check_channel_answer(
    world: World, login: str, socket_id: Any, channel: Any, answer: dict[str, Any]
) -> None:
    """``answer`` signs ``channel`` for ``socket_id`` exactly as PROTOCOL.md says,
    the oracle lets the user join it, and presence data is the server's own."""
    assert isinstance(channel, str) and isinstance(socket_id, str), (socket_id, channel)
    assert valid_socket_id(socket_id), socket_id
    assert world.may_join(login, channel), f"signed {channel!r} for {login}"
    user = world.user_of(login)
    assert user is not None
    data = answer.get("channel_data")
    assert answer["auth"] == channel_auth(KEY, SECRET, socket_id, channel, data)
    if channel.startswith("presence-"):
        assert isinstance(data, str) and json.loads(data)["user_id"] == str(user.pk)
    else:
        assert data is None
    if channel.startswith("private-encrypted-"):
        assert answer.get("shared_secret")
    assert SECRET not in json.dumps(answer)


def check_user_answer(world: World, login: str, socket_id: Any, answer: dict[str, Any]) -> None:
    """``answer`` is the signin of the signed-in user for ``socket_id``."""
    user = world.user_of(login)
    assert user is not None, f"signed in {login}"
    assert isinstance(socket_id, str) and valid_socket_id(socket_id), socket_id
    message = f"{socket_id}::user::{answer['user_data']}"
    assert answer["auth"] == f"{KEY}:{sign(SECRET, message)}"
    assert json.loads(answer["user_data"])["id"] == str(user.pk)
