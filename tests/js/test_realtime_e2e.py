"""realtime.js end to end: the real pusher-js (Node) with the configuration the
dashboard renders, two admin sessions signed in through the login form, the live
Django server and the session's soketi (``tests/js/e2e/realtime_e2e.mjs``): one
batch authorization for the page's channels, sender exclusion through rt.fetch,
catch-up from the history after a reconnect, no own echo through the catch-up of
the gap the exclusion leaves (X-Realtime-Event-Ids), and signin."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from django_toolbox_realtime import broadcasts
from tests.frontend.conftest import config_of
from tests.helpers import (
    SerialLiveServerThread,
    cookie_header,
    demo_session,
    live_server,
    seed_demo,
)
from tests.js.tap import node_test

pytestmark = [pytest.mark.integration]


@pytest.fixture
def server(soketi: Any, transactional_db: Any, django_db_blocker: Any) -> Iterator[str]:
    with broadcasts.without_broadcasting():
        seed_demo()
    with live_server(django_db_blocker, in_memory_thread_class=SerialLiveServerThread) as url:
        yield url


def signed_in(base: str, username: str) -> tuple[str, dict[str, Any]]:
    """Sign in through the login form; the Cookie header and the dashboard's
    ``{% realtime_config %}``."""
    session = demo_session(base, username)
    page = session.get(f"{base}/", timeout=10)
    assert page.status_code == 200
    return cookie_header(session), config_of(page.text)


def test_realtime_js_against_soketi_and_the_live_server(server: str) -> None:
    cookie_a, config = signed_in(server, "admin")
    cookie_b, config_b = signed_in(server, "admin")
    assert config["wsHost"] and config["batchAuthEndpoint"]
    sessions = [{"cookie": cookie_a, "config": config}, {"cookie": cookie_b, "config": config_b}]
    env = {**os.environ, "RT_E2E": json.dumps({"base": server, "sessions": sessions})}
    run = node_test(["tests/js/e2e/realtime_e2e.mjs"], env=env, timeout=120)
    assert run.returncode == 0, run.explain()
    assert run.counts.get("pass") == 5 and run.counts.get("fail") == 0, run.explain()
