"""After commit, enqueue ``django_toolbox_realtime.deliver`` for the committed
channels: the dispatcher of ``DELIVERY = "celery"`` (``delivery.dispatch``).

Where the enqueue runs follows ``FIRST_ATTEMPT``:

* ``"background"`` (default): on one daemon thread of the process, so a request
  never waits for the broker. Kombu retries a broker it cannot reach before it
  gives up (about 6 s with the defaults, per message): in the committing thread
  that would be every saving request's wait during a broker outage. Channels
  committed while the thread is busy are merged into its next message.
* ``"inline"``: in the committing thread (so does an app with
  ``task_always_eager``: the task then runs at once, as tests expect).
* ``"off"``: nothing is enqueued; the sweep sends the rows.

An enqueue that fails (broker down, process killed first) is logged and
forgotten: the rows are committed and the periodic sweep sends them.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from typing import Any

from celery import current_app

from ...conf import SETTINGS_NAME, realtime_settings
from ...delivery import dispatch, options
from ...validation import chunked
from . import tasks

logger = logging.getLogger("django_toolbox_realtime.celery")

#: Channels kept waiting for the thread at most; beyond, they wait for the sweep.
MAX_WAITING = 10_000
_CREDENTIALS = re.compile(r"//[^/@\s]*@")


def celery_app() -> Any:
    """``CELERY_APP``, else Celery's current app."""
    app = realtime_settings.CELERY_APP
    return app if app is not None else current_app


def send(alias: str, channels: list[str]) -> bool:
    """Enqueue ``deliver`` for ``channels`` (split by MAX_CHANNELS); False (logged,
    never raised) when the broker would not take it."""
    app = celery_app()
    queue = realtime_settings.CELERY_QUEUE or None
    try:
        task = app.tasks[tasks.DELIVER]  # registered with every app by shared_task
        for names in chunked(channels, tasks.MAX_CHANNELS):
            task.apply_async(args=(names,), kwargs={"alias": alias}, queue=queue)
    except Exception as exc:
        logger.warning(
            "%d channel(s) not enqueued for %s (%s: %s): their events stay in the outbox "
            "for the sweep task (%s) or manage.py realtime_deliver. Check the broker "
            "of %s['CELERY_APP'].",
            len(channels),
            tasks.DELIVER,
            type(exc).__name__,
            _CREDENTIALS.sub("//***@", str(exc))[:300],  # a broker URL may carry a password
            tasks.SWEEP,
            SETTINGS_NAME,
        )
        return False
    return True


class Enqueuer:
    """One daemon thread that enqueues what :meth:`add` hands it (started on first
    use, and again in a forked child)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: dict[str, set[str]] = {}
        self._busy = False
        self._thread: threading.Thread | None = None

    def add(self, alias: str, channels: list[str]) -> None:
        with self._cond:
            waiting = self._waiting.setdefault(alias, set())
            if len(waiting) + len(channels) > MAX_WAITING:
                logger.warning(
                    "Enqueue backlog full: %d channel(s) left to the sweep.", len(channels)
                )
                return
            waiting.update(channels)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="toolbox-realtime-enqueue", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    def _take(self) -> dict[str, set[str]]:
        with self._cond:
            while not self._waiting:
                self._busy = False
                self._cond.notify_all()
                self._cond.wait()
            self._busy = True
            work, self._waiting = self._waiting, {}
            return work

    def _run(self) -> None:
        while True:
            for alias, channels in self._take().items():
                try:
                    send(alias, sorted(channels))
                except Exception:  # the thread must survive anything: rows stay
                    logger.exception("The enqueue thread failed.")

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything handed over has been tried; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy or self._waiting:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def reset_after_fork(self) -> None:
        self.__init__()  # type: ignore[misc]


_enqueuer = Enqueuer()
os.register_at_fork(after_in_child=_enqueuer.reset_after_fork)


def wait_idle(timeout: float = 10.0) -> bool:
    """Wait until the enqueue thread has tried everything handed to it."""
    return _enqueuer.wait_idle(timeout)


def after_commit(alias: str, channels: list[str]) -> None:
    """The dispatcher: enqueue now or on the thread (see the module's docstring)."""
    if options.first_attempt() == options.INLINE or celery_app().conf.task_always_eager:
        send(alias, channels)
    else:
        _enqueuer.add(alias, channels)


def install() -> None:
    """Make :func:`after_commit` the dispatcher of celery mode."""
    dispatch.install(after_commit)
