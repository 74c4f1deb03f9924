"""Owner-bound channels: the reserved placeholder ``{user}`` (SECURITY_CASES 29).

``private-user-{user}`` lets each user subscribe to their own channel only: the value
must be the user's protocol id exactly as the auth and signin endpoints compute it.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings as django_settings

from django_toolbox_realtime import decide, signals, trigger_event
from django_toolbox_realtime.authorization.presence import user_id_for
from tests.helpers import USER_AUTH_URL, channel_auth, form_post

pytestmark = pytest.mark.django_db

KEY, SECRET = django_settings.TEST_KEY, django_settings.TEST_SECRET
DENIED = {"error": "forbidden", "detail": "You may not subscribe to this channel."}


@pytest.fixture
def owned(policy):
    return policy("private-user-{user}", "student")


@pytest.fixture
def pair(make_user):
    return make_user("alice", "student"), make_user("bob", "student")


def test_own_channel_is_allowed(owned, pair):
    alice, _ = pair
    decision = decide(alice, f"private-user-{alice.pk}")
    assert decision.allowed, decision.reason
    assert decision.params == {"user": str(alice.pk)}


def test_another_users_channel_is_denied_with_a_reason(owned, pair):
    alice, bob = pair
    decision = decide(alice, f"private-user-{bob.pk}")
    assert (decision.allowed, decision.code) == (False, "not_owner")
    assert f"user={bob.pk} is not you (you are user {alice.pk})" in decision.reason
    assert decision.policy is not None and decision.policy.channel == "private-user-{user}"


@pytest.mark.parametrize(
    ("alias", "code"),
    [
        ("0{pk}", "not_owner"),  # leading zero
        ("00{pk}", "not_owner"),
        ("{pk}_", "not_owner"),
        ("{pk}=", "not_owner"),
        ("{pk},{pk}", "not_owner"),
        ("{pk};", "not_owner"),
        ("{pk}@x", "not_owner"),
        ("0x{pk}", "not_owner"),
        ("{pk}e0", "not_owner"),
        ("alice", "not_owner"),  # the username is not the id
        ("+{pk}", "invalid_channel"),
        (" {pk}", "invalid_channel"),
        ("{pk}\n", "invalid_channel"),
        ("{pk}.0", "no_policy"),  # a placeholder never spans '.'
        ("{pk}-x", "no_policy"),
    ],
)
def test_aliases_of_the_own_id_are_refused(owned, pair, alias, code):
    alice, _ = pair
    decision = decide(alice, "private-user-" + alias.format(pk=alice.pk))
    assert (decision.allowed, decision.code) == (False, code), decision.reason


def test_the_bound_value_is_the_id_the_signin_endpoint_signs(owned, pair, token_client):
    alice, _ = pair
    response = form_post(token_client(alice), USER_AUTH_URL, socket_id="1.2")
    signed_id = json.loads(response.json()["user_data"])["id"]
    assert signed_id == user_id_for(alice) == str(alice.pk)
    assert decide(alice, f"private-user-{signed_id}").allowed


def test_role_is_still_required(owned, make_user):
    nobody = make_user("nobody")  # no role group
    assert decide(nobody, f"private-user-{nobody.pk}").code == "no_role"


def test_presence_channel_bound_to_its_owner(policy, pair):
    policy("presence-desk-{user}", "student")
    alice, bob = pair
    assert decide(alice, f"presence-desk-{alice.pk}").allowed
    assert decide(bob, f"presence-desk-{alice.pk}").code == "not_owner"


def test_other_placeholders_stay_free(policy, pair):
    policy("private-user-{user}-course-{course}", "student")
    alice, bob = pair
    allowed = decide(alice, f"private-user-{alice.pk}-course-42")
    assert allowed.allowed and allowed.params == {"user": str(alice.pk), "course": "42"}
    assert decide(alice, f"private-user-{bob.pk}-course-42").code == "not_owner"


def test_an_unbound_placeholder_is_not_owner_checked(policy, pair):
    """{user_id} is an ordinary placeholder: any student matches (W014 warns about it)."""
    policy("private-user-{user_id}", "student")
    alice, bob = pair
    assert decide(alice, f"private-user-{bob.pk}").allowed


# --- code authorizers ------------------------------------------------------------------


def test_code_authorizer_pattern_binds_user_too(policy, authorizer, pair):
    policy("private-notes-{id}", "student")
    calls = []

    @authorizer("private-notes-{user}")
    def notes(user, **params):
        calls.append(params)
        return True

    alice, bob = pair
    allowed = decide(alice, f"private-notes-{alice.pk}")
    assert allowed.allowed, allowed.reason
    assert calls == [{}]  # the bound value is the user itself: not passed again
    denied = decide(alice, f"private-notes-{bob.pk}")
    assert denied.code == "not_owner" and denied.authorizer is not None
    assert calls == [{}]  # refused before the function runs
    assert decide(alice, f"private-notes-0{alice.pk}").code == "not_owner"


# --- the HTTP endpoint and a real soketi -------------------------------------------------


def test_auth_endpoint_signs_only_the_own_channel(owned, pair, token_client):
    alice, bob = pair
    seen = []

    def record(sender, decision, **kwargs):
        seen.append(decision.code)

    signals.channel_denied.connect(record)
    try:
        client = token_client(alice)
        own = f"private-user-{alice.pk}"
        response = form_post(client, socket_id="123.456", channel_name=own)
        assert response.status_code == 200
        assert response.json() == {"auth": channel_auth(KEY, SECRET, "123.456", own)}
        for channel in (f"private-user-{bob.pk}", f"private-user-0{alice.pk}"):
            refused = form_post(client, socket_id="123.456", channel_name=channel)
            assert (refused.status_code, refused.json()) == (403, DENIED)
    finally:
        signals.channel_denied.disconnect(record)
    assert seen == ["not_owner", "not_owner"]


@pytest.mark.integration
def test_own_channel_on_soketi(soketi, ws_client, owned, pair, token_client):
    alice, bob = pair
    own, other = ws_client(), ws_client()
    channel = f"private-user-{alice.pk}"
    signed = form_post(token_client(alice), socket_id=own.socket_id, channel_name=channel)
    ok = own.subscribe(channel, auth=signed.json()["auth"])
    assert ok["event"] == "pusher_internal:subscription_succeeded"
    # Bob cannot get a signature for Alice's channel, and soketi refuses a forged one.
    refused = form_post(token_client(bob), socket_id=other.socket_id, channel_name=channel)
    assert refused.status_code == 403
    forged = other.subscribe(channel, auth=f"{KEY}:{'0' * 64}")
    assert forged["event"] in ("pusher:subscription_error", "pusher:error")
    trigger_event(channel=channel, event="notice", data={"n": 1})
    message = own.wait_for(lambda m: m["event"] == "notice")
    assert json.loads(message["data"]) == {"n": 1}
    assert not [m for m in other.messages if m["event"] == "notice"]
