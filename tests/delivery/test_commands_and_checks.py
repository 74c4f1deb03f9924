"""System checks and the realtime_check / realtime_trigger commands."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from django_toolbox_realtime.checks import check_settings
from django_toolbox_realtime.conf import parse_url, realtime_settings
from django_toolbox_realtime.exceptions import RealtimeConfigurationError

GOOD = {
    "APP_ID": "123",
    "KEY": "key",
    "SECRET": "a-real-secret-value",
    "BACKEND": "django_toolbox_realtime.backends.pusher.PusherBackend",
}


def ids(config):
    with override_settings(TOOLBOX_REALTIME=config):
        return sorted(e.id for e in check_settings())


def test_good_configuration_has_no_errors():
    assert ids(GOOD) == []


@pytest.mark.parametrize(
    "config, expected",
    [
        ({**GOOD, "SECRET": ""}, "toolbox_realtime.E001"),
        ({**GOOD, "KEY": None}, "toolbox_realtime.E001"),
        ({**GOOD, "SECRET": "   "}, "toolbox_realtime.E001"),
        ({**GOOD, "APP_ID": "my-app"}, "toolbox_realtime.E002"),
        ({**GOOD, "APP_ID": "١٢٣"}, "toolbox_realtime.E002"),
        ({**GOOD, "SECRET": "your_secret_key"}, "toolbox_realtime.E003"),
        ({**GOOD, "SECRET": "YOUR_SECRET_KEY"}, "toolbox_realtime.E003"),
        ({**GOOD, "ENCRYPTION_MASTER_KEY_BASE64": "c2hvcnQ="}, "toolbox_realtime.E004"),
        ({**GOOD, "ENCRYPTION_MASTER_KEY_BASE64": "not base64!"}, "toolbox_realtime.E004"),
        ({**GOOD, "PORT": "http"}, "toolbox_realtime.E005"),
        ({**GOOD, "TIMEOUT": 0}, "toolbox_realtime.E006"),
        ({**GOOD, "BACKEND": "nope.Nope"}, "toolbox_realtime.E007"),
        ({**GOOD, "URL": "ftp://x"}, "toolbox_realtime.E009"),
        ({**GOOD, "CLUSTER": "eu", "SSL": False}, "toolbox_realtime.W001"),
    ],
)
def test_each_mistake_has_its_check(config, expected):
    assert expected in ids(config)


def test_disabled_does_not_require_credentials():
    assert ids({"ENABLED": False}) == []


def test_check_messages_never_contain_the_secret():
    with override_settings(
        TOOLBOX_REALTIME={
            **GOOD,
            "APP_ID": "x",
            "SECRET": "your_secret_key",
            "URL": "http://k:topsecret@h/apps/notdigits",
        }
    ):
        text = " ".join(str(e) for e in check_settings())
    assert "topsecret" not in text


def test_url_form_fills_missing_keys():
    with override_settings(
        TOOLBOX_REALTIME={"URL": "https://k3y:s%40cret@ws.example.org:6001/apps/77"}
    ):
        s = realtime_settings
        assert (s.APP_ID, s.KEY, s.SECRET, s.HOST, s.PORT, s.SSL) == (
            "77",
            "k3y",
            "s@cret",
            "ws.example.org",
            6001,
            True,
        )
    with override_settings(TOOLBOX_REALTIME={"URL": "http://k:s@h/apps/1", "KEY": "explicit"}):
        assert realtime_settings.KEY == "explicit" and realtime_settings.SSL is False


def test_malformed_url_error_does_not_echo_the_secret():
    with pytest.raises(RealtimeConfigurationError) as info:
        parse_url("http://k:hunter2@host/not-apps/1")
    assert "hunter2" not in str(info.value) and "URL" in str(info.value)


def test_unknown_setting_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        realtime_settings.NOT_A_SETTING  # noqa: B018


@pytest.mark.integration
def test_realtime_check_succeeds_against_soketi(soketi):
    out = io.StringIO()
    call_command("realtime_check", stdout=out)
    assert "OK" in out.getvalue() and f":{soketi.port}" in out.getvalue()


@pytest.mark.integration
def test_realtime_check_with_wrong_secret_says_so(soketi, settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "SECRET": "wrong-secret-999"}
    with pytest.raises(CommandError) as info:
        call_command("realtime_check", stdout=io.StringIO(), stderr=io.StringIO())
    assert "SECRET" in str(info.value) and "401" in str(info.value)
    assert "wrong-secret-999" not in str(info.value)


@pytest.mark.integration
def test_realtime_check_proves_the_key_over_a_websocket(soketi):
    out = io.StringIO()
    call_command("realtime_check", stdout=out)
    assert f"ws://127.0.0.1:{soketi.port}" in out.getvalue()
    assert "pusher:connection_established" in out.getvalue()


@pytest.mark.integration
def test_realtime_check_with_wrong_key_says_so(soketi, settings):
    """soketi's HTTP API ignores the key: only the WebSocket probe catches it."""
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "KEY": "wrong-key-123"}
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("realtime_check", stdout=out, stderr=io.StringIO())
    message = str(info.value)
    assert "TOOLBOX_REALTIME['KEY']" in message and "4001" in message
    assert "does not exist" in message
    assert soketi.secret not in message + out.getvalue()


@pytest.mark.integration
def test_realtime_check_with_wrong_app_id_says_so(soketi, settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "APP_ID": "999"}
    with pytest.raises(CommandError, match="APP_ID"):
        call_command("realtime_check", stdout=io.StringIO(), stderr=io.StringIO())


def test_realtime_check_when_nothing_listens_names_the_settings(settings):
    """tests.settings point at 127.0.0.1:9, where nothing listens."""
    with pytest.raises(CommandError) as info:
        call_command("realtime_check", stdout=io.StringIO(), stderr=io.StringIO())
    message = str(info.value)
    assert "127.0.0.1:9" in message and "TOOLBOX_REALTIME['HOST']" in message


@pytest.mark.parametrize("timeout", ["0", "-1", "61", "nan"])
def test_realtime_check_refuses_a_timeout_out_of_bounds(timeout):
    with pytest.raises(CommandError, match="--timeout"):
        call_command("realtime_check", "--timeout", timeout, stdout=io.StringIO())


def test_realtime_check_reports_configuration_errors(settings):
    settings.TOOLBOX_REALTIME = {**GOOD, "SECRET": "your_secret_key"}
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("realtime_check", stdout=io.StringIO(), stderr=err)
    assert "E003" in err.getvalue()


@pytest.mark.integration
def test_realtime_trigger_command_publishes(ws_client):
    client = ws_client()
    client.subscribe("public-cli")
    out = io.StringIO()
    call_command("realtime_trigger", "public-cli", "ping", '{"a": 1}', stdout=out)
    message = client.wait_for(lambda m: m["event"] == "ping")
    assert json.loads(message["data"]) == {"a": 1} and "Sent 'ping'" in out.getvalue()


def test_realtime_trigger_rejects_bad_json_and_bad_channels(realtime_outbox):
    with pytest.raises(CommandError, match="JSON"):
        call_command("realtime_trigger", "public-a", "e", "{nope")
    with pytest.raises(CommandError, match="character"):
        call_command("realtime_trigger", "bad channel", "e", "{}")
    assert len(realtime_outbox) == 0
