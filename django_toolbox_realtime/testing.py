"""Test helpers for projects that use django-toolbox-realtime.

With pytest, enable the fixtures in your ``conftest.py``::

    pytest_plugins = ["django_toolbox_realtime.testing"]

    def test_quiz_submission_notifies_teachers(client, realtime_outbox):
        client.post("/api/v1/quiz/1/submit", ...)
        realtime_outbox.assert_sent("private-teacher", "quiz-submitted")

Without pytest, use :func:`override_realtime` and :func:`get_outbox`::

    with override_realtime() as outbox:  # locmem backend, enabled, empty outbox
        trigger_event("public-x", "ping", {})
    outbox.assert_sent("public-x", "ping")  # still readable after the block

Like ``django.core.mail.outbox``, what a block sent stays readable after it: the
outbox it yields keeps what was sent inside it, and ``get_outbox()`` shows it
until the next block starts (which starts empty).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.test import override_settings

from .backends import locmem
from .backends.base import OutgoingEvent
from .conf import SETTINGS_NAME

LOCMEM_BACKEND = "django_toolbox_realtime.backends.locmem.LocmemBackend"


class RealtimeOutbox:
    """A view on the locmem backend's outbox with assertion helpers.

    Live while its block runs; :meth:`freeze` (at the end of ``override_realtime``)
    keeps a copy of what was sent, so it can be asserted on after the block."""

    def __init__(self) -> None:
        self._frozen: tuple[list[OutgoingEvent], int] | None = None

    def freeze(self) -> None:
        """Keep what has been sent so far; later sends no longer show here."""
        if self._frozen is None:
            self._frozen = (list(locmem.outbox), locmem.request_count())

    @property
    def messages(self) -> list[OutgoingEvent]:
        return list(locmem.outbox) if self._frozen is None else list(self._frozen[0])

    @property
    def requests(self) -> int:
        """How many HTTP requests the pusher backend would have made."""
        return locmem.request_count() if self._frozen is None else self._frozen[1]

    def __len__(self) -> int:
        return len(self.messages)

    def clear(self) -> None:
        if self._frozen is None:
            locmem.clear()
        else:
            self._frozen = ([], 0)

    def events(self, channel: str | None = None, event: str | None = None) -> list[dict[str, Any]]:
        """Sent events as dicts ``{"id", "event", "channels", "data", "socket_id"}``,
        ``data`` decoded from JSON, filtered by channel and/or event name."""
        found = []
        for message in self.messages:
            if channel is not None and channel not in message.channels:
                continue
            if event is not None and message.name != event:
                continue
            try:
                data: Any = json.loads(message.data)
            except ValueError:
                data = message.data
            found.append(
                {
                    "id": message.id,
                    "event": message.name,
                    "channels": list(message.channels),
                    "data": data,
                    "socket_id": message.socket_id,
                }
            )
        return found

    def assert_sent(
        self, channel: str, event: str, data: Any = None, *, count: int | None = None
    ) -> list[dict[str, Any]]:
        """Assert that ``event`` was sent on ``channel`` (with ``data``, if given; a dict
        ``data`` matches when its items are a subset of what was sent)."""
        matches = self.events(channel=channel, event=event)
        if data is not None:
            matches = [m for m in matches if _matches(m["data"], data)]
        if count is None and not matches or count is not None and len(matches) != count:
            sent = [(m["event"], m["channels"]) for m in self.events()]
            wanted = "at least once" if count is None else f"{count} time(s)"
            raise AssertionError(
                f"expected {event!r} on {channel!r} {wanted}"
                + (f" with data {data!r}" if data is not None else "")
                + f", found {len(matches)}. Sent: {sent}"
            )
        return matches

    def assert_not_sent(self, channel: str | None = None, event: str | None = None) -> None:
        matches = self.events(channel=channel, event=event)
        if matches:
            raise AssertionError(f"expected nothing sent, found {matches}")


def _matches(sent: Any, expected: Any) -> bool:
    if isinstance(expected, dict) and isinstance(sent, dict):
        return all(k in sent and _matches(sent[k], v) for k, v in expected.items())
    return bool(sent == expected)


def get_outbox() -> RealtimeOutbox:
    return RealtimeOutbox()


@contextlib.contextmanager
def override_realtime(**overrides: Any) -> Iterator[RealtimeOutbox]:
    """Override ``TOOLBOX_REALTIME`` keys for a block; defaults to the locmem backend,
    enabled, with an empty outbox.

    The outbox it yields stays readable after the block (what the block sent, like
    ``mail.outbox``); the next block starts empty."""
    current = dict(getattr(settings, SETTINGS_NAME, {}) or {})
    new = {**current, "ENABLED": True, "BACKEND": LOCMEM_BACKEND, **overrides}
    locmem.clear()
    outbox = RealtimeOutbox()
    with override_settings(**{SETTINGS_NAME: new}):
        try:
            yield outbox
        finally:
            outbox.freeze()


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is optional for users
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def realtime_outbox() -> Iterator[RealtimeOutbox]:
        """Route events to memory for this test and give the outbox to assert on."""
        with override_realtime() as outbox:
            yield outbox
        locmem.clear()  # the test is over: nothing of it reaches the next one
