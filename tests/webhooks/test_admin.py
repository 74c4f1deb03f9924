"""Admin pages for live state and the realtime status page: render, filter, stay
read-only and staff-only, never show a secret."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission, User

from django_toolbox_realtime.backends import locmem
from django_toolbox_realtime.models import ChannelState
from django_toolbox_realtime.validation import channel_kind
from tests.webhooks.conftest import now_ms

pytestmark = pytest.mark.django_db

ADMIN = "/admin/django_toolbox_realtime"
STATUS_PAGE = f"{ADMIN}/realtimestatus/"
MASTER_KEY = "c2VjcmV0LW1hc3Rlci1rZXktMzItYnl0ZXMtbG9uZyE="
ROTATED = "rotated-webhook-secret-9f8e7d"
SECRETS = (django_settings.TEST_SECRET, MASTER_KEY, ROTATED)


@pytest.fixture
def configured(settings: Any) -> None:
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "ENCRYPTION_MASTER_KEY_BASE64": MASTER_KEY,
        "WEBHOOK_SECRETS": [django_settings.TEST_SECRET, ROTATED],
    }


@pytest.fixture
def live_state(post_webhook: Any, client: Any) -> None:
    t = now_ms()
    post_webhook(
        [
            {"name": "channel_occupied", "channel": "presence-classroom-101"},
            {"name": "member_added", "channel": "presence-classroom-101", "user_id": "alice"},
            {"name": "member_added", "channel": "presence-classroom-101", "user_id": "bob"},
            {"name": "channel_occupied", "channel": "public-dashboard"},
        ],
        time_ms=t,
    )
    post_webhook(
        [
            {"name": "channel_occupied", "channel": "private-teacher"},
            {"name": "channel_vacated", "channel": "private-teacher"},
        ],
        time_ms=t + 1,
    )
    client.post("/api/v1/pusher/webhook", data=b"{}", content_type="application/json")


def page(admin_client: Any, url: str) -> str:
    response = admin_client.get(url)
    assert response.status_code == 200, url
    text = response.content.decode()
    for secret in SECRETS:
        assert secret not in text, url
    return text


def test_live_channels_page_lists_and_filters(
    admin_client: Any, configured: None, live_state: None
) -> None:
    text = page(admin_client, f"{ADMIN}/channelstate/")
    assert "presence-classroom-101" in text and "private-teacher" in text
    occupied = page(admin_client, f"{ADMIN}/channelstate/?occupied__exact=1")
    assert "presence-classroom-101" in occupied and "private-teacher" not in occupied
    presence = page(admin_client, f"{ADMIN}/channelstate/?kind=presence")
    assert "presence-classroom-101" in presence and "public-dashboard" not in presence
    public = page(admin_client, f"{ADMIN}/channelstate/?kind=public")
    assert "public-dashboard" in public and "presence-classroom-101" not in public
    found = page(admin_client, f"{ADMIN}/channelstate/?q=dashboard")
    assert "public-dashboard" in found and "private-teacher" not in found


def test_the_kind_filter_agrees_with_channel_kind(admin_client: Any) -> None:
    names = [
        "public-board",
        "private-board",
        "private-encrypted-board",
        "presence-board",
        "#server-to-user-7",
    ]
    ChannelState.objects.bulk_create(ChannelState(name=name, occupied=True) for name in names)
    for kind in ("public", "private", "encrypted", "presence", "user"):
        text = page(admin_client, f"{ADMIN}/channelstate/?kind={kind}")
        shown = {name for name in names if f">{name}<" in text}
        assert shown == {name for name in names if channel_kind(name) == kind}, kind


def test_online_members_page(
    admin_client: Any, configured: None, live_state: None, post_webhook: Any
) -> None:
    text = page(admin_client, f"{ADMIN}/presencemember/")
    assert "alice" in text and "bob" in text
    post_webhook(
        [{"name": "member_removed", "channel": "presence-classroom-101", "user_id": "bob"}],
        time_ms=now_ms() + 5,
    )
    text = page(admin_client, f"{ADMIN}/presencemember/?presence=online")
    assert "alice" in text and "bob" not in text
    searched = page(admin_client, f"{ADMIN}/presencemember/?q=alice")
    assert "alice" in searched


def test_webhook_deliveries_page_shows_outcomes(
    admin_client: Any, configured: None, live_state: None
) -> None:
    text = page(admin_client, f"{ADMIN}/webhookdelivery/")
    assert "accepted" in text and "rejected" in text
    rejected = page(admin_client, f"{ADMIN}/webhookdelivery/?outcome__exact=rejected")
    assert "missing X-Pusher-Key" in rejected
    assert "channel_occupied, member_added" not in rejected


def test_live_pages_are_read_only(admin_client: Any, live_state: None) -> None:
    for model in ("channelstate", "presencemember", "webhookdelivery"):
        assert admin_client.get(f"{ADMIN}/{model}/add/").status_code == 403
        text = admin_client.get(f"{ADMIN}/{model}/").content.decode()
        assert f"{model}/add/" not in text


def test_status_page_shows_config_checks_and_budget_with_secret_masked(
    admin_client: Any, configured: None, live_state: None
) -> None:
    admin_client.post(STATUS_PAGE, {"channel": "public-x", "event": "e", "payload": "{}"})
    text = page(admin_client, STATUS_PAGE)
    assert "Realtime status" in text
    assert django_settings.TEST_KEY in text and django_settings.TEST_APP_ID in text
    assert "•••••••• (set)" in text
    assert "2 secret(s) for 1 key(s)" in text
    for check in ("configuration", "server", "webhooks", "budget"):
        assert f"<td>{check}</td>" in text
    assert "1 / 200000" in text  # the test event above counts
    assert "/api/v1/pusher/webhook" in text
    assert "presence-classroom-101" in text


def test_status_page_sends_a_test_event(admin_client: Any) -> None:
    response = admin_client.post(
        STATUS_PAGE,
        {"channel": "public-dashboard", "event": "realtime.test", "payload": '{"n": 1}'},
        follow=True,
    )
    assert response.status_code == 200
    assert "Sent realtime.test on public-dashboard" in response.content.decode()
    assert [(e.name, e.channels, e.data) for e in locmem.outbox] == [
        ("realtime.test", ("public-dashboard",), '{"n":1}')
    ]


@pytest.mark.parametrize(
    "form,error",
    [
        ({"channel": "public-dashboard", "event": "x", "payload": "{not json"}, "Not valid JSON"),
        ({"channel": "bad channel!", "event": "x", "payload": "{}"}, "Not sent"),
        ({"channel": "public-a", "event": "pusher:x", "payload": "{}"}, "Not sent"),
    ],
)
def test_status_page_refuses_bad_test_events(
    admin_client: Any, configured: None, form: dict[str, str], error: str
) -> None:
    response = admin_client.post(STATUS_PAGE, form, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert error in text
    assert locmem.outbox == []
    for secret in SECRETS:
        assert secret not in text


@pytest.mark.integration
def test_status_page_delivery_error_does_not_leak_the_secret(
    admin_client: Any, soketi: Any, settings: Any
) -> None:
    from tests.conftest import realtime_for

    wrong = django_settings.TEST_SECRET + "-wrong"
    settings.TOOLBOX_REALTIME = realtime_for(soketi, SECRET=wrong)
    response = admin_client.post(
        STATUS_PAGE, {"channel": "public-a", "event": "e", "payload": "{}"}, follow=True
    )
    text = response.content.decode()
    assert "Not sent" in text and "401" in text
    assert wrong not in text and django_settings.TEST_SECRET not in text


def test_status_page_is_staff_only(client: Any) -> None:
    response = client.get(STATUS_PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]
    User.objects.create_user("plain", password="pw")
    client.login(username="plain", password="pw")
    assert client.get(STATUS_PAGE).status_code == 302


def test_staff_need_permissions(client: Any) -> None:
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    client.login(username="staff", password="pw")
    assert client.get(STATUS_PAGE).status_code == 403
    assert client.get(f"{ADMIN}/presencemember/").status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_realtimestatus"))
    assert client.get(STATUS_PAGE).status_code == 200
    # Viewing is not sending.
    response = client.post(STATUS_PAGE, {"channel": "public-a", "event": "e", "payload": "{}"})
    assert response.status_code == 403
    assert locmem.outbox == []


def test_admin_index_lists_the_live_pages(admin_client: Any, configured: None) -> None:
    text = page(admin_client, "/admin/")
    for title in ("Live channels", "Online members", "Webhook deliveries", "Realtime status"):
        assert title in text
