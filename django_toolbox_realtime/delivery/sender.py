"""The first try after commit, and immediate mode's sending: by default on one
background thread per process, so a request never waits for the server.

``FIRST_ATTEMPT``:

* ``"background"`` (default): after commit, the channels (outbox mode) or the
  events (immediate mode) are handed to a daemon thread that runs the same lane
  code as ``realtime_deliver``; the request is not slowed at all. Work handed over
  while the thread is busy is merged (one round covers every channel waiting). If
  the process dies first, outbox rows simply wait for ``realtime_deliver``.
  Backends that do not leave the process (locmem, log, null) are run at once in
  the committing thread instead: nothing to wait for, and tests see the events
  as soon as the transaction commits. So is an in-memory SQLite database (a test
  database), which a second thread cannot share.
* ``"inline"``: in the committing thread (the request waits up to ``TIMEOUT``).
* ``"off"``: nothing after commit; outbox rows wait for ``realtime_deliver``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial

from django.db import close_old_connections, connections

from ..backends import OutgoingEvent, get_backend
from . import lanes, options, rounds

logger = logging.getLogger("django_toolbox_realtime.delivery")

#: Work kept waiting for the thread at most; beyond it, outbox channels are left
#: to realtime_deliver and immediate events are dropped (logged).
MAX_WAITING = 10_000
#: How long the thread lets work gather before a round, only under load (work
#: was handed over while the previous round ran): commits arriving together then
#: share one round. An idle sender starts at once (no added latency).
GATHER_SECONDS = 0.005
#: Rounds the background thread runs on the same channels before it looks at the
#: other work waiting (their channels are then handed back to it).
MAX_ROUNDS = 5
#: How long an idle thread keeps its database connections when the alias keeps
#: connections (``CONN_MAX_AGE`` not 0): a commit after a quiet spell then pays
#: no new connection (~10 ms on PostgreSQL) before its send.
LINGER_SECONDS = 10.0


class BackgroundSender:
    """One daemon thread taking work from a queue; started on first use (and again
    in a forked child)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._channels: dict[str, set[str]] = {}
        self._events: list[tuple[str, list[OutgoingEvent]]] = []
        self._waiting_events = 0
        self._busy = False
        self._loaded = False  # work arrived while a round ran
        self._lingering = False  # idle, its connections still open
        self._thread: threading.Thread | None = None

    def add_channels(self, alias: str, channels: Iterable[str]) -> None:
        with self._cond:
            waiting = self._channels.setdefault(alias, set())
            if len(waiting) < MAX_WAITING:
                waiting.update(channels)
            self._wake()

    def add_events(self, alias: str, events: list[OutgoingEvent]) -> None:
        with self._cond:
            if self._waiting_events + len(events) > MAX_WAITING:
                logger.warning("Sender queue full: %d immediate event(s) dropped.", len(events))
                return
            self._events.append((alias, events))
            self._waiting_events += len(events)
            self._wake()

    def _wake(self) -> None:
        self._loaded = self._loaded or self._busy
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="toolbox-realtime-sender", daemon=True
            )
            self._thread.start()
        self._cond.notify_all()

    def _take(self) -> tuple[dict[str, set[str]], list[tuple[str, list[OutgoingEvent]]]]:
        with self._cond:
            while not self._channels and not self._events:
                self._busy = False
                self._cond.notify_all()
                if not self._lingering:
                    self._cond.wait()
                elif not self._cond.wait(LINGER_SECONDS):
                    self._lingering = False
                    connections.close_all()  # this thread's own connections
            self._busy = True
            loaded, self._loaded = self._loaded, False
        if loaded:  # under load: commits arriving together share one round
            time.sleep(GATHER_SECONDS)
        with self._cond:
            channels, self._channels = self._channels, {}
            events, self._events = self._events, []
            self._waiting_events = 0
            return channels, events

    def _run(self) -> None:
        while True:
            channels, events = self._take()
            close_old_connections()
            merged: dict[str, list[OutgoingEvent]] = {}
            for alias, batch in events:  # one pass: a hung server costs one TIMEOUT
                merged.setdefault(alias, []).extend(batch)
            work: list[tuple[str, Callable[[], object]]] = [
                (alias, partial(self._first_try, alias, sorted(names)))
                for alias, names in channels.items()
            ]
            work += [
                (alias, partial(rounds.send_immediately, alias, batch))
                for alias, batch in merged.items()
            ]
            for alias, task in work:
                try:
                    task()
                except Exception:  # the thread must survive anything: rows stay pending
                    logger.exception("The background sender failed on database %r.", alias)
            with self._cond:
                idle = not self._channels and not self._events
                self._lingering = idle and _keeps_connections(alias for alias, _ in work)
            if idle and not self._lingering:  # keep the connection while work keeps coming
                connections.close_all()

    def _first_try(self, alias: str, channels: list[str]) -> None:
        if first_try(alias, channels, MAX_ROUNDS):  # rows left: after the other work
            self.add_channels(alias, channels)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything handed over has been tried; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy or self._channels or self._events:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def reset_after_fork(self) -> None:
        self.__init__()  # type: ignore[misc]


def _keeps_connections(aliases: Iterable[str]) -> bool:
    """Whether every alias the thread used keeps its connections between requests
    (``CONN_MAX_AGE`` not 0); ``close_old_connections`` still honours the age."""
    return all(connections[alias].settings_dict.get("CONN_MAX_AGE") != 0 for alias in aliases)


_sender = BackgroundSender()
os.register_at_fork(after_in_child=_sender.reset_after_fork)


def wait_idle(timeout: float = 10.0) -> bool:
    """Wait until the background sender has tried everything handed to it."""
    return _sender.wait_idle(timeout)


def first_try(alias: str, channels: list[str], max_rounds: int | None = None) -> bool:
    """Rounds on ``channels`` until none has a row this sender can take; True when
    it stopped at ``max_rounds`` with rows left (the caller hands them back).

    With no ``realtime_deliver`` running, nothing else would send a row left here,
    so the try ends only when the server fails (a retry: the worker's job, after
    its backoff) or its channels have nothing due that a claim can take. A row
    committed while another sender held its lane (claim locked, or the lane's head
    leased) is taken by nothing at its own first try; the sender holding the lane
    finds it with the probe after its round, which runs after that commit."""
    done = 0
    probed = False  # the last round followed a probe that found rows due
    while True:
        result = rounds.run_round(alias, channels)
        done += 1
        if result.retry or result.released:
            return False
        if result.more:
            if max_rounds is not None and done >= max_rounds:
                return True
            probed = False
            continue
        if probed and not result.claimed:
            return False  # what is due waits behind a head not due, or another sender
        if not lanes.has_due(alias, channels):
            return False
        probed = True


def _at_once(alias: str) -> bool:
    """Whether to send in the committing thread: a backend that does not leave the
    process (nothing to wait for), or an in-memory SQLite database (a test
    database: its shared cache answers "table is locked" at once to a second
    thread instead of waiting, so the thread could not write its outcome)."""
    in_memory = getattr(connections[alias], "is_in_memory_db", None)
    if in_memory is not None and in_memory():
        return True
    try:
        return not getattr(get_backend(), "delivers_to_server", False)
    except Exception:
        return False  # an unloadable backend: the thread logs why


def first_attempt(alias: str, channels: Iterable[str]) -> None:
    """After commit (outbox mode): try the rows just written on ``channels``."""
    mode = options.first_attempt()
    if mode == options.OFF:
        return
    if mode == options.INLINE or _at_once(alias):
        first_try(alias, sorted(channels))
    else:
        _sender.add_channels(alias, channels)


def send_after_commit(alias: str, events: list[OutgoingEvent]) -> None:
    """After commit (immediate mode): send ``events``."""
    if options.first_attempt() == options.INLINE or _at_once(alias):
        rounds.send_immediately(alias, events)
    else:
        _sender.add_events(alias, events)
