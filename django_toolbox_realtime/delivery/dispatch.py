"""The after-commit hand-off of ``DELIVERY = "celery"``, without delivery knowing
Celery: ``contrib.celery`` installs its dispatcher here (``apps.py`` has it do so
when the setting chooses celery) and ``publish`` calls :func:`after_commit` once
the transaction that wrote the outbox rows has committed.

The rows are committed before the dispatcher runs, so nothing that happens here
(no dispatcher, the broker down) can lose an event: it only waits for the sweep
task (or ``manage.py realtime_deliver``), which sends every due row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from ..conf import SETTINGS_NAME
from . import options

logger = logging.getLogger("django_toolbox_realtime.delivery")

#: ``dispatcher(alias, channels)``: have the rows of ``channels`` delivered soon.
Dispatcher = Callable[[str, list[str]], None]

_dispatcher: Dispatcher | None = None


def install(dispatcher: Dispatcher) -> None:
    """Make ``dispatcher`` the one :func:`after_commit` calls (replacing any)."""
    global _dispatcher
    _dispatcher = dispatcher


def installed() -> Dispatcher | None:
    return _dispatcher


def after_commit(alias: str, channels: Iterable[str]) -> None:
    """Hand the committed ``channels`` to the installed dispatcher. With
    ``FIRST_ATTEMPT = "off"`` nothing is handed over: the sweep sends the rows."""
    if options.first_attempt() == options.OFF:
        return
    names = sorted(set(channels))
    if _dispatcher is None:
        logger.error(
            "%s['DELIVERY'] is 'celery' but no Celery dispatcher is installed (is "
            "'django_toolbox_realtime' in INSTALLED_APPS?): %d channel(s) wait for the "
            "sweep task or manage.py realtime_deliver.",
            SETTINGS_NAME,
            len(names),
        )
        return
    _dispatcher(alias, names)
