import pytest

from django_toolbox_realtime import trigger_event

pytestmark = pytest.mark.integration


def test_trigger_event_arrives_on_a_real_socket(ws_client):
    client = ws_client()
    assert client.subscribe("public-dashboard")["event"] == "pusher_internal:subscription_succeeded"
    result = trigger_event(channel="public-dashboard", event="hello", data={"n": 1})
    message = client.wait_for(lambda m: m["event"] == "hello")
    assert message["channel"] == "public-dashboard"
    assert message["data"] == '{"n":1}'
    assert result["sent"] and result["id"]
