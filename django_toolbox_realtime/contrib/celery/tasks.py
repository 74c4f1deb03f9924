"""The Celery tasks of ``DELIVERY = "celery"``; their names are stable (route and
schedule them by name):

* ``django_toolbox_realtime.deliver(channels, alias=None)``: enqueued after a
  commit; sends the due rows of those channels.
* ``django_toolbox_realtime.sweep(alias=None)``: sends every due row of every
  channel (a lost enqueue, a retry whose backoff has passed) and prunes the
  history. Schedule it with beat (docs/delivery.md).

Both run the rounds of ``manage.py realtime_deliver`` (claim a lane's due rows
under its lock, send them in order, record the outcome), so any number of tasks
on any number of workers share the lanes as that command's processes do.

No Celery retries (no ``autoretry_for``, no ``self.retry``): a failed send is
already scheduled again by the outbox itself (``next_attempt_at``: capped
exponential backoff with full jitter, dead letter after ``MAX_ATTEMPTS``), one
schedule that every sender (tasks, ``realtime_deliver``, the sweep) obeys. A
Celery retry would be a second schedule that knows nothing of the first: it
would try rows that are not due, hold ETA messages in the broker (on Redis
redelivered after the visibility timeout, so sent twice), and count tries the
admin never shows. The sweep picks up each retry when it is due.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import shared_task

from ...delivery import lanes, outbox, rounds
from ...delivery.worker import Worker

logger = logging.getLogger("django_toolbox_realtime.celery")

DELIVER = "django_toolbox_realtime.deliver"
SWEEP = "django_toolbox_realtime.sweep"

#: A deliver task sends rounds on its channels until one finds nothing, for at
#: most this long; what is left waits for the next task or the sweep.
DELIVER_MAX_SECONDS = 30.0
#: A sweep stops after this long (the next one goes on), so sweeps do not pile up.
SWEEP_MAX_SECONDS = 60.0
#: Channels one deliver task takes at most (the enqueuer splits larger sets).
MAX_CHANNELS = lanes.ROUND_LANES


def _channel_names(channels: Any) -> list[str]:
    """``channels`` from the message, checked: a list of at most MAX_CHANNELS names."""
    if (
        not isinstance(channels, (list, tuple))
        or len(channels) > MAX_CHANNELS
        or not all(isinstance(name, str) and 0 < len(name) <= 200 for name in channels)
    ):
        raise ValueError(f"{DELIVER} takes a list of at most {MAX_CHANNELS} channel names.")
    return list(channels)


@shared_task(name=DELIVER, ignore_result=True)
def deliver(channels: list[str], alias: str | None = None) -> dict[str, int]:
    """Send the due rows of ``channels``, round after round until none is due."""
    names = _channel_names(channels)
    database = alias or outbox.outbox_database()
    started = time.monotonic()
    totals = {"rounds": 0, "delivered": 0, "retry": 0, "failed": 0}
    while time.monotonic() - started < DELIVER_MAX_SECONDS:
        result = rounds.run_round(database, names)
        totals["rounds"] += 1
        totals["delivered"] += result.delivered
        totals["retry"] += result.retry
        totals["failed"] += result.failed
        # Until a round finds nothing: a task that came while this one held a lane
        # found its rows leased and left them, so this one takes what was committed
        # since its last claim. A retry or a released row waits for its backoff
        # (the sweep sends it then).
        if not result.claimed or result.retry or result.released:
            break
    if totals["delivered"] or totals["retry"] or totals["failed"]:
        logger.info("deliver: %s", ", ".join(f"{k} {v}" for k, v in totals.items()))
    return totals


@shared_task(name=SWEEP, ignore_result=True)
def sweep(alias: str | None = None) -> dict[str, int]:
    """Send every due row (``realtime_deliver --once``, bounded), prune the history."""
    worker = Worker(alias, once=True, max_seconds=SWEEP_MAX_SECONDS, report=logger.debug)
    worker.run()
    if any(worker.totals.values()):
        logger.info("sweep: %s", ", ".join(f"{k} {v}" for k, v in worker.totals.items()))
    return dict(worker.totals)
