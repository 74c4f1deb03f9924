"""Real Chromium (Debian's /usr/bin/chromium, driven by Playwright for Python; never a
downloaded browser) against a live Django server and the session's soketi.

Each test gets the demo data in a committed database (``transactional_db``: the
model bridge sends after commit), a live server whose requests are recorded
(``recorder.REQUESTS``) and a ``role_page`` factory: a new browser context signed in
through the real login form. With in-memory SQLite the server shares the test's
connection and answers one request at a time (as the webhook tests do).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import sync_playwright

from django_toolbox_realtime import broadcasts
from tests.helpers import SerialLiveServerThread, live_server, seed_demo

from . import recorder

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
#: How long a test waits for something to appear in a page (ms). Waits end as soon
#: as the condition holds; this only bounds a failure.
WAIT_MS = 8000
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
SCREENS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp/screens"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Playwright's sync API keeps an asyncio loop
    running in this thread, which makes Django refuse database calls here
    (SynchronousOnlyOperation): allowed for this module only, and Playwright is
    stopped after it, so the rest of the suite keeps Django's guard."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium with apt-get.")
    before = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = before


@pytest.fixture
def demo_data(transactional_db: Any) -> None:
    """The demo data, committed (seeded without broadcasting: it is not the test)."""
    with broadcasts.without_broadcasting():
        seed_demo()


@pytest.fixture
def server(soketi: Any, demo_data: None, django_db_blocker: Any) -> Iterator[str]:
    """The live server's base URL; TOOLBOX_REALTIME points at the session's soketi."""
    recorder.REQUESTS.clear()
    middleware = ["tests.browser.recorder.RecordRequestsMiddleware", *django_settings.MIDDLEWARE]
    with live_server(
        django_db_blocker, in_memory_thread_class=SerialLiveServerThread, MIDDLEWARE=middleware
    ) as url:
        yield url
    recorder.REQUESTS.clear()


@pytest.fixture
def role_page(browser: Any, server: str) -> Iterator[Callable[..., Any]]:
    """``role_page(username, viewport=LAPTOP)``: a page of a new browser context, signed
    in through the login form and on the dashboard, its console errors collected."""
    contexts: list[Any] = []

    def open_page(username: str, viewport: dict[str, int] = LAPTOP) -> Any:
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(f"{server}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "demo1234")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/")
        return page

    yield open_page
    for context in contexts:
        context.close()


def live(page: Any) -> None:
    """Wait until the page's connection badge says it is live."""
    page.wait_for_selector("#connection-badge[data-state=connected]", timeout=WAIT_MS)


def screenshot(page: Any, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
