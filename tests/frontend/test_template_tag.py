"""``{% realtime_config %}``: the public client configuration, and nothing secret."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from django.core.checks import run_checks
from django.template import TemplateSyntaxError, engines
from django.test import Client

from django_toolbox_realtime.exceptions import RealtimeConfigurationError
from django_toolbox_realtime.models import ChannelPolicy
from tests.frontend.conftest import config_of, render

CONTRACT_KEYS = {
    "enabled",
    "key",
    "cluster",
    "wsHost",
    "wsPort",
    "wssPort",
    "forceTLS",
    "enabledTransports",
    "authEndpoint",
    "batchAuthEndpoint",
    "userAuthEndpoint",
    "historyEndpoint",
    "batchMax",
    "csrf",
    "socketIdHeader",
}


def test_exactly_the_contract_keys_self_hosted(settings):
    config = config_of(render())
    assert set(config) == CONTRACT_KEYS
    assert config == {
        "enabled": True,
        "key": settings.TEST_KEY,
        "cluster": None,
        "wsHost": "127.0.0.1",
        "wsPort": 9,
        "wssPort": 9,
        "forceTLS": False,
        "enabledTransports": ["ws", "wss"],
        "authEndpoint": "/api/v1/pusher/auth",
        "batchAuthEndpoint": "/api/v1/pusher/auth/batch",
        "userAuthEndpoint": "/api/v1/pusher/user-auth",
        "historyEndpoint": "/api/v1/pusher/history",
        "batchMax": 50,
        "csrf": {"headerName": "X-CSRFToken", "token": config["csrf"]["token"]},
        "socketIdHeader": "X-Socket-ID",
    }
    assert len(config["csrf"]["token"]) == 64


def test_hosted_pusher_shape(realtime):
    realtime(HOST=None, PORT=None, CLUSTER="eu", SSL=True)
    config = config_of(render())
    assert config["cluster"] == "eu"
    assert (config["wsHost"], config["wsPort"], config["wssPort"]) == (None, None, None)
    assert config["forceTLS"] is True


def test_host_wins_over_cluster(realtime):
    realtime(HOST="rt.internal", PORT="6001", CLUSTER="eu")
    config = config_of(render())
    assert (config["cluster"], config["wsHost"], config["wsPort"]) == (None, "rt.internal", 6001)


def test_browser_facing_address_from_client(realtime):
    realtime(
        HOST="soketi",  # the server-side name inside a private network
        PORT=6001,
        SSL=False,
        CLIENT={"WS_HOST": "rt.example.com", "WS_PORT": 443, "FORCE_TLS": True},
    )
    config = config_of(render())
    assert (config["wsHost"], config["wsPort"], config["wssPort"]) == ("rt.example.com", 443, 443)
    assert config["forceTLS"] is True


def test_client_keys_default_one_by_one(realtime):
    realtime(HOST="soketi", PORT=6001, SSL=True, CLIENT={"WS_HOST": "rt.example.com"})
    config = config_of(render())
    assert (config["wsHost"], config["wsPort"], config["forceTLS"]) == (
        "rt.example.com",
        6001,
        True,
    )


def test_disabled_and_batch_max(realtime):
    realtime(ENABLED=False, AUTH_BATCH_MAX=7)
    config = config_of(render())
    assert config["enabled"] is False and config["batchMax"] == 7


def test_element_id_argument():
    html = render('{% load realtime %}{% realtime_config "my-id" %}')
    assert config_of(html, "my-id")["key"]
    assert 'id="realtime-config"' not in html


def test_csrf_header_name_follows_the_setting(settings):
    settings.CSRF_HEADER_NAME = "HTTP_X_MY_CSRF_TOKEN"
    assert config_of(render())["csrf"]["headerName"] == "X-My-Csrf-Token"


def test_html_in_a_value_is_escaped(realtime):
    realtime(KEY="k</script><script>alert(1)</script>")
    html = render()
    assert "<script>alert" not in html
    assert config_of(html)["key"] == "k</script><script>alert(1)</script>"


# --- never a secret -----------------------------------------------------------------

MASTER_KEY = base64.b64encode(b"M" * 32).decode()
SECRET_SETTINGS = {
    "SECRET": "secret-value-1f2e3d4c5b6a",
    "ENCRYPTION_MASTER_KEY_BASE64": MASTER_KEY,
    "HEALTH_TOKEN": "health-token-value-0123456789abcdef0123",
    "WEBHOOK_SECRETS": ["webhook-secret-value-aa11", "webhook-secret-value-bb22"],
    "URL": "https://url-key:url-secret-value-9z8y@rt.example.com/apps/1",
}


def secret_strings(name, value):
    """The strings that must not appear: the value, its parts, its encodings."""
    values = value if isinstance(value, list) else [value]
    found = set(values)
    if name == "URL":
        found.add("url-secret-value-9z8y")
    if name == "ENCRYPTION_MASTER_KEY_BASE64":
        found |= {"M" * 16, MASTER_KEY[:16]}  # the decoded bytes, the encoded text
    return found


@pytest.mark.parametrize("name", sorted(SECRET_SETTINGS))
def test_no_secret_setting_is_rendered(realtime, settings, name):
    value = SECRET_SETTINGS[name]
    if name == "URL":
        realtime(URL=value, SECRET=None, KEY=None, APP_ID=None, HOST=None, PORT=None)
    else:
        realtime(**{name: value})
    html = render()
    config = config_of(html)
    assert config["key"]  # the tag did render the configuration
    for secret in secret_strings(name, value):
        assert secret not in html, name
    assert settings.SECRET_KEY not in html


def test_all_secrets_at_once_and_the_secret_key(realtime, settings):
    realtime(**{k: v for k, v in SECRET_SETTINGS.items() if k != "URL"})
    html = render()
    for name, value in SECRET_SETTINGS.items():
        if name != "URL":
            for secret in secret_strings(name, value):
                assert secret not in html, name
    assert settings.SECRET_KEY not in html
    assert "url-secret" not in html


# --- any mount point; the token works ----------------------------------------------


def test_endpoints_are_reversed_under_another_mount_point(settings):
    settings.ROOT_URLCONF = "tests.frontend.urls_rt"
    config = config_of(render())
    assert config["authEndpoint"] == "/rt/auth"
    assert config["batchAuthEndpoint"] == "/rt/auth/batch"
    assert config["userAuthEndpoint"] == "/rt/user-auth"
    assert config["historyEndpoint"] == "/rt/history"


@pytest.mark.django_db
def test_the_rendered_csrf_token_is_valid_for_a_post(settings, make_user):
    settings.ROOT_URLCONF = "tests.frontend.urls_rt"
    ChannelPolicy.objects.create(channel="private-student", min_role="student")
    student = make_user("stu", "student")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(student)
    config = config_of(browser.get("/page/").content.decode())
    body = urlencode({"socket_id": "1.1", "channel_name": "private-student"})
    form = "application/x-www-form-urlencoded"
    without = browser.post(config["authEndpoint"], body, content_type=form)
    assert without.status_code == 403
    header = {config["csrf"]["headerName"]: config["csrf"]["token"]}
    response = browser.post(config["authEndpoint"], body, content_type=form, headers=header)
    assert response.status_code == 200 and response.json()["auth"]


# --- bad settings: clear errors ------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ({"CLIENT": "rt.example.com"}, "['CLIENT']"),
        ({"CLIENT": {"HOST": "x"}}, "['CLIENT']"),
        ({"CLIENT": {"WS_PORT": "http"}}, "WS_PORT"),
        ({"CLIENT": {"WS_PORT": 70_000}}, "WS_PORT"),
        ({"CLIENT": {"WS_HOST": ""}}, "WS_HOST"),
        ({"CLIENT": {"FORCE_TLS": "yes"}}, "FORCE_TLS"),
        ({"AUTH_BATCH_MAX": 0}, "AUTH_BATCH_MAX"),
        ({"AUTH_BATCH_MAX": "50"}, "AUTH_BATCH_MAX"),
        ({"AUTH_BATCH_MAX": True}, "AUTH_BATCH_MAX"),
        ({"AUTH_BATCH_MAX": 1_001}, "AUTH_BATCH_MAX"),
    ],
)
def test_bad_settings_are_clear_errors_and_system_check_errors(realtime, keys, named):
    realtime(**keys)
    with pytest.raises(RealtimeConfigurationError, match=named.replace("[", r"\[")):
        render()
    errors = [m for m in run_checks() if m.id in ("toolbox_realtime.E050", "toolbox_realtime.E051")]
    assert errors and named in errors[0].msg


def test_good_settings_pass_the_check(realtime):
    realtime(CLIENT={"WS_HOST": "rt.example.com", "WS_PORT": 443, "FORCE_TLS": True})
    ids = {m.id for m in run_checks()}
    assert not ids & {"toolbox_realtime.E050", "toolbox_realtime.E051"}


def test_without_a_request_in_the_context_the_error_says_so():
    template = engines["django"].from_string("{% load realtime %}{% realtime_config %}")
    with pytest.raises(RealtimeConfigurationError, match="context_processors.request"):
        template.render({})


def test_too_many_arguments_is_a_syntax_error():
    with pytest.raises(TemplateSyntaxError, match="realtime_config"):
        render('{% load realtime %}{% realtime_config "a" "b" %}')
