"""Token login needs ``rest_framework.authtoken``: without it a Bearer header is a
403 JSON refusal (never a 500), and a system check says what to add."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from django_toolbox_realtime.checks import check_token_authentication

pytestmark = pytest.mark.django_db

AUTH_URL = "/api/v1/pusher/auth"


def without_authtoken(settings: Any) -> list[str]:
    return [app for app in settings.INSTALLED_APPS if app != "rest_framework.authtoken"]


def test_a_bearer_header_without_authtoken_installed_is_a_json_403(
    client: Any, settings: Any
) -> None:
    with override_settings(INSTALLED_APPS=without_authtoken(settings)):
        response = client.post(
            AUTH_URL,
            {"socket_id": "1.1", "channel_name": "private-teacher"},
            HTTP_AUTHORIZATION="Bearer 0123456789abcdef",
        )
    assert response.status_code == 403
    assert response.json()["error"] == "not_authenticated"
    assert "rest_framework.authtoken" in response.json()["detail"]


def test_the_check_warns_when_token_login_cannot_work(settings: Any) -> None:
    assert check_token_authentication() == []
    with override_settings(INSTALLED_APPS=without_authtoken(settings)):
        messages = check_token_authentication()
    assert [m.id for m in messages] == ["toolbox_realtime.W015"]
    assert "rest_framework.authtoken" in messages[0].msg
