"""Public channels are anyone's to invent (issue 8 item 4, SECURITY_CASES 35): the
state keeps at most ``STATE_MAX_PUBLIC_CHANNELS`` rows for them, while private,
presence and server-to-user channels (which need a signature) are all kept."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command

from django_toolbox_realtime import state
from django_toolbox_realtime.conf import DEFAULTS
from django_toolbox_realtime.delivery import server_api
from django_toolbox_realtime.models import ChannelState
from django_toolbox_realtime.validation import channel_kind
from tests.webhooks.conftest import STATUS_URL, added, occupied, vacated

pytestmark = pytest.mark.django_db

CAP = 20


@pytest.fixture
def capped(settings: Any) -> int:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "STATE_MAX_PUBLIC_CHANNELS": CAP}
    return CAP


def public_rows() -> int:
    names = ChannelState.objects.values_list("name", flat=True)
    return sum(channel_kind(name) == "public" for name in names)


def test_35_invented_public_channels_store_at_most_the_cap(
    capped: int, post_webhook: Any, client: Any
) -> None:
    for i in range(50):  # one webhook per channel, as soketi sends them
        assert post_webhook([occupied(f"made-up-{i:02d}")]).status_code == 200
    assert public_rows() == CAP
    assert state.active_channels() == [f"made-up-{i:02d}" for i in range(CAP)]
    # Anonymous callers see a count, never a name.
    text = client.get(STATUS_URL).content.decode()
    assert "made-up" not in text


def test_35_the_cap_holds_within_one_batch(capped: int, post_webhook: Any) -> None:
    assert post_webhook([occupied(f"batch-{i:02d}") for i in range(50)]).status_code == 200
    assert public_rows() == CAP


def test_channels_that_need_a_signature_are_not_capped(capped: int, post_webhook: Any) -> None:
    post_webhook([occupied(f"made-up-{i}") for i in range(CAP)])
    signed = ["private-teacher", "private-encrypted-x", "presence-classroom-1", "#server-to-user-7"]
    post_webhook([occupied(name) for name in signed] + [added("7", "presence-classroom-1")])
    assert set(signed) <= set(state.active_channels())
    assert state.online_users("presence-classroom-1") == ["7"]


def test_a_stored_public_channel_still_changes_at_the_cap(capped: int, post_webhook: Any) -> None:
    post_webhook([occupied(f"made-up-{i:02d}") for i in range(CAP)])
    post_webhook([vacated("made-up-00")])
    assert "made-up-00" not in state.active_channels()
    post_webhook([occupied("made-up-00")])
    assert "made-up-00" in state.active_channels()


def test_a_vacate_of_an_unstored_public_channel_stores_nothing(
    capped: int, post_webhook: Any
) -> None:
    post_webhook([occupied(f"made-up-{i:02d}") for i in range(CAP)])
    response = post_webhook([vacated("never-stored"), occupied("never-stored-2")])
    assert response.status_code == 200
    assert not ChannelState.objects.filter(name__startswith="never-stored").exists()


def test_the_default_cap_is_documented_and_bounded(post_webhook: Any) -> None:
    cap = DEFAULTS["STATE_MAX_PUBLIC_CHANNELS"]
    assert isinstance(cap, int) and 0 < cap <= 1000
    post_webhook([occupied(f"made-up-{i}") for i in range(cap + 5)])
    assert public_rows() == cap


def test_realtime_sync_keeps_the_cap_too(capped: int, monkeypatch: Any) -> None:
    on_server = {f"made-up-{i:02d}": {} for i in range(50)} | {"private-real": {}}
    monkeypatch.setattr(server_api, "fetch_channels", lambda prefix=None: on_server)
    call_command("realtime_sync", stdout=StringIO())
    assert public_rows() == CAP
    assert "private-real" in state.active_channels()


@pytest.mark.parametrize(
    "setting",
    ["STATE_MAX_PUBLIC_CHANNELS", "WEBHOOK_REJECTIONS_LOGGED", "HEALTH_WEBHOOK_SILENCE_SECONDS"],
)
@pytest.mark.parametrize("value", [-1, "100", 1.5, None, True])
def test_a_cap_that_is_not_a_whole_number_is_an_error(
    settings: Any, setting: str, value: Any
) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, setting: value}
    errors = [m for m in run_checks() if m.id == "toolbox_realtime.E022"]
    assert len(errors) == 1 and setting in errors[0].msg
