"""The scenario's dashboard in real Chromium: pages of different users side by side,
moving live through the real soketi, without a reload."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from . import recorder
from .conftest import LAPTOP, PHONE, WAIT_MS, live, screenshot

pytestmark = [pytest.mark.integration, pytest.mark.browser]

BATCH_AUTH = "/api/v1/pusher/auth/batch"
RECONNECT_MS = 40000
SINGLE_AUTH = "/api/v1/pusher/auth"


def all_subscribed(page: Any) -> None:
    """Wait until every channel the page asked for is subscribed (authorized)."""
    page.wait_for_function(
        """() => {
            const rt = window.dashboardRealtime;
            const channels = rt && Object.values(rt.pusher.channels.channels);
            return channels && channels.length > 0 && channels.every((c) => c.subscribed);
        }""",
        timeout=WAIT_MS,
    )


def record_frames(page: Any) -> list[dict[str, Any]]:
    """The Pusher messages the page's WebSockets receive, decoded, as they arrive."""
    frames: list[dict[str, Any]] = []

    def on_socket(socket: Any) -> None:
        socket.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", on_socket)
    return frames


def member(page: Any, name: str) -> Any:
    return page.locator(f'#presence-panel li.member[data-name="{name}"]')


def test_student_joins_submits_and_leaves_while_the_teacher_watches(role_page: Any) -> None:
    teacher = role_page("teacher")
    live(teacher)
    panel = teacher.locator('[data-presence-channel="presence-classroom-101"]')
    expect(panel).to_have_attribute("data-subscribed", "true", timeout=WAIT_MS)
    expect(member(teacher, "Tom Teacher")).to_have_count(1)
    expect(member(teacher, "Sam Student")).to_have_count(0)

    student = role_page("student")
    live(student)
    # The teacher sees the student join: in the panel, in the count, in a toast.
    expect(member(teacher, "Sam Student")).to_have_count(1, timeout=WAIT_MS)
    expect(panel.locator("[data-count]")).to_have_text("2")
    expect(teacher.locator(".toast", has_text="Sam Student joined")).to_have_count(1)
    expect(member(student, "Tom Teacher")).to_have_count(1, timeout=WAIT_MS)

    rows = teacher.locator("#submissions tbody tr:not(.empty)")
    expect(rows).to_have_count(0)
    for question, answer in (("q0", "4"), ("q1", "Paris"), ("q2", "salt")):
        student.check(f'#quiz-form-1 input[name="{question}"][value="{answer}"]')
    student.click("#quiz-form-1 button[type=submit]")

    # The teacher's table gains the row; the student's card gets the live result.
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    expect(rows.first).to_contain_text("Sam Student")
    expect(rows.first).to_contain_text("Warm-up quiz")
    expect(rows.first.locator(".score-pill")).to_have_text("2 / 3")
    card = student.locator("#result-card-1")
    expect(card).to_have_attribute("data-live", "true", timeout=WAIT_MS)
    expect(card.locator("[data-score]")).to_have_text("2")
    expect(student.locator("#quiz-form-1 button[type=submit]")).to_be_disabled()
    screenshot(teacher, "teacher-live")
    screenshot(student, "student-live")

    student.context.close()
    # The student left: the panel drops them, and says so.
    expect(member(teacher, "Sam Student")).to_have_count(0, timeout=WAIT_MS)
    expect(panel.locator("[data-count]")).to_have_text("1")
    expect(teacher.locator(".toast", has_text="Sam Student left")).to_have_count(1)
    assert teacher.url.endswith("/") and teacher.errors == []


def test_admin_status_change_reaches_another_admin_and_not_its_own_socket(
    role_page: Any,
) -> None:
    clicker, watcher = role_page("admin"), role_page("admin")
    frames = record_frames(clicker)
    clicker.reload()  # the recorder sees the page's socket from its start
    for page in (clicker, watcher):
        live(page)
        all_subscribed(page)
    card, other = (p.locator('.agent-card[data-agent="grader"]') for p in (clicker, watcher))
    channel = card.get_attribute("data-channel")
    expect(card).to_have_attribute("data-status-value", "idle")
    clicker.evaluate(
        """() => {
            const card = document.querySelector('.agent-card[data-agent="grader"]');
            window.statusChanges = [];
            new MutationObserver(() => window.statusChanges.push(card.dataset.statusValue))
                .observe(card, {attributes: true, attributeFilter: ["data-status-value"]});
        }"""
    )

    with clicker.expect_response(lambda r: r.url.endswith("/api/v1/agents/grader/status")) as sent:
        card.locator('[data-set-status="busy"]').click()
    own_events = sent.value.json()["events"]
    expect(card).to_have_attribute("data-status-value", "busy")
    expect(other).to_have_attribute("data-status-value", "busy", timeout=WAIT_MS)
    expect(other.locator("[data-status]")).to_have_text("Busy")
    expect(other.locator("[data-by]")).to_have_text("by admin")

    # The watcher's change comes back to the clicker; per-channel order puts any
    # echo of the clicker's own change before it.
    other.locator('[data-set-status="error"]').click()
    expect(card).to_have_attribute("data-status-value", "error", timeout=WAIT_MS)
    expect(card.locator("[data-failed]")).to_have_text("1")  # busy -> error: a failed task
    clicker.wait_for_load_state("networkidle")  # a catch-up request, if any, is done
    agent_frames = [
        f for f in frames if f.get("channel") == channel and f.get("event", "").startswith("agent.")
    ]
    received = [json.loads(f["data"])["_rt"]["id"] for f in agent_frames]
    assert len(received) == 1 and not set(received) & set(own_events)
    assert clicker.evaluate("window.statusChanges") == ["busy", "error"]
    screenshot(watcher, "admin-live")
    assert clicker.errors == [] and watcher.errors == []


@pytest.mark.parametrize("username", ["admin", "teacher", "student"])
def test_a_page_load_authorizes_its_channels_in_one_request(role_page: Any, username: str) -> None:
    page = role_page(username)
    all_subscribed(page)  # the first load's requests are over: count the next load's
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.method == "POST" else None)
    recorder.REQUESTS.clear()
    page.reload()
    live(page)
    all_subscribed(page)
    private = page.evaluate(
        """() => Object.keys(window.dashboardRealtime.pusher.channels.channels)
                 .filter((name) => /^(private|presence)-/.test(name))"""
    )
    assert len(private) >= (4 if username == "admin" else 2)
    # Counted at the server and in the browser: one batch request, no single ones.
    assert recorder.posts_to(BATCH_AUTH) == 1 and recorder.posts_to(SINGLE_AUTH) == 0
    assert [url for url in seen if "/api/v1/pusher/auth" in url] == [
        page.url.rstrip("/") + BATCH_AUTH
    ]


def test_an_admin_notification_is_a_toast_for_everyone_else(role_page: Any) -> None:
    admin, teacher = role_page("admin"), role_page("teacher")
    frames = record_frames(admin)
    admin.reload()
    for page in (admin, teacher):
        live(page)
        all_subscribed(page)
    admin.fill("#notify-form [name=title]", "Fire drill")
    admin.fill("#notify-form [name=message]", "Leave by the east stairs")
    admin.select_option("#notify-form [name=level]", "warning")
    admin.click("#notify-form button[type=submit]")
    toast = teacher.locator(".toast-warning", has_text="Leave by the east stairs")
    expect(toast).to_have_count(1, timeout=WAIT_MS)
    expect(toast).to_contain_text("Fire drill")
    expect(admin.locator("#notify-form [data-form-status]")).to_have_text("Sent to everyone.")
    expect(admin.locator(".toast", has_text="Leave by the east stairs")).to_have_count(1)
    assert not [f for f in frames if f.get("event") == "notification"]  # no echo


@pytest.mark.parametrize("username", ["admin", "teacher", "student"])
def test_readable_at_laptop_and_phone_width(role_page: Any, username: str) -> None:
    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page = role_page(username, viewport=viewport)
        live(page)
        all_subscribed(page)
        overflow = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
        assert overflow[0] <= overflow[1], f"{name}: horizontal scroll {overflow}"
        assert page.locator("pre, code.json").count() == 0  # no raw JSON on display
        screenshot(page, f"{username}-{name}")


def submit_as(server: str, username: str, answers: list[str]) -> dict[str, Any]:
    """Submit quiz 1 over HTTP as ``username`` (a Bearer token, no browser)."""
    token = json.loads(
        post(f"{server}/api/v1/auth/token", {"username": username, "password": "demo1234"})
    )["token"]
    body = post(f"{server}/api/v1/quiz/1/submit", {"answers": answers}, token=token)
    return dict(json.loads(body))


def post(url: str, payload: dict[str, Any], token: str | None = None) -> bytes:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(payload).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


def test_events_missed_while_the_socket_was_cut_arrive_once_after_it_returns(
    role_page: Any, server: str
) -> None:
    """The WebSocket is closed and reconnects are refused (``route_web_socket``;
    ``set_offline`` would leave an open WebSocket alone), a submission happens
    meanwhile, then the socket may come back: the row appears, once, no reload."""
    teacher = role_page("teacher")
    cut = {"blocked": False, "open": []}

    def route(ws: Any) -> None:
        if cut["blocked"]:
            ws.close()
            return
        ws.connect_to_server()
        cut["open"].append(ws)

    teacher.route_web_socket(re.compile(r"/app/"), route)
    teacher.reload()
    live(teacher)
    all_subscribed(teacher)
    rows = teacher.locator("#submissions tbody tr:not(.empty)")
    submit_as(server, "student2", ["4", "Paris", "water"])  # seen live: the seq is known
    expect(rows).to_have_count(1, timeout=WAIT_MS)

    cut["blocked"] = True
    for ws in cut["open"]:
        ws.close()
    expect(teacher.locator("#connection-badge")).not_to_have_attribute(
        "data-state", "connected", timeout=WAIT_MS
    )
    submit_as(server, "student", ["4", "Lyon", "water"])
    history_before = recorder.gets_to("/api/v1/pusher/history")
    cut["blocked"] = False
    # pusher-js retries on its own schedule (its backoff, then "unavailable" after
    # 10 s and a retry): the reconnect may take that long.
    teacher.wait_for_selector("#connection-badge[data-state=connected]", timeout=RECONNECT_MS)
    expect(rows).to_have_count(2, timeout=WAIT_MS)
    expect(rows.first).to_contain_text("Sam Student")
    expect(rows.first.locator(".score-pill")).to_have_text("2 / 3")
    assert recorder.gets_to("/api/v1/pusher/history") > history_before  # caught up
    expect(teacher.locator("#submissions tr", has_text="Sam Student")).to_have_count(1)
    assert teacher.errors == []


def test_the_login_page_signs_in_and_says_when_it_cannot(browser: Any, server: str) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{server}/")  # anonymous: the login page
    page.fill("#id_username", "teacher")
    page.fill("#id_password", "wrong password")
    page.click("button[type=submit]")
    expect(page.locator(".form-error")).to_contain_text("did not match")
    width = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    screenshot(page, "login-phone")
    page.fill("#id_password", "demo1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    live(page)
    context.close()


def test_with_realtime_off_the_page_says_so_and_its_forms_still_work(
    role_page: Any, settings: Any
) -> None:
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "ENABLED": False}
    student = role_page("student")
    expect(student.locator("#connection-badge")).to_have_attribute("data-state", "off")
    for question, answer in (("q0", "4"), ("q1", "Paris"), ("q2", "water")):
        student.check(f'#quiz-form-1 input[name="{question}"][value="{answer}"]')
    student.click("#quiz-form-1 button[type=submit]")
    expect(student.locator("#result-card-1 [data-score]")).to_have_text("3", timeout=WAIT_MS)
    assert student.errors == []
