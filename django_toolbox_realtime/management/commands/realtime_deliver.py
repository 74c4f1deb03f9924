"""``manage.py realtime_deliver``: the outbox worker.

Sends the outbox rows whose first try after commit did not succeed (server down,
process killed), retrying with capped exponential backoff and full jitter until
``MAX_ATTEMPTS``. Runs until SIGTERM or SIGINT (it finishes the current round,
then exits 0); ``--once`` runs rounds until nothing is due and exits. Logs a line
per round that sent something. See docs/delivery.md.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...delivery.worker import Worker
from ...exceptions import RealtimeConfigurationError


class Command(BaseCommand):
    help = "Deliver the outbox: send waiting events, retry failed ones (loop, or --once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="send everything due now, then exit"
        )
        parser.add_argument(
            "--database", default=None, help="the outbox's database alias (default: routed)"
        )
        parser.add_argument(
            "--max-rounds", type=int, default=None, help="exit after this many rounds"
        )
        parser.add_argument(
            "--max-seconds", type=float, default=None, help="exit after about this many seconds"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker = Worker(
            options["database"],
            once=options["once"],
            max_rounds=options["max_rounds"],
            max_seconds=options["max_seconds"],
            report=lambda line: self.stdout.write(line),
        )
        previous = self._install(worker)
        try:
            worker.run()
        except RealtimeConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        totals = worker.totals
        self.stdout.write(
            f"stopped after {worker.rounds} round(s): {totals['delivered']} sent, "
            f"{totals['failed']} refused, {totals['dead']} dead."
        )

    def _install(self, worker: Worker) -> dict[int, Any]:
        """Stop gracefully on SIGTERM / SIGINT (only the main thread may set handlers)."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}

        def stop(signum: int, frame: Any) -> None:
            self.stdout.write(f"{signal.Signals(signum).name}: stopping after this round")
            worker.stop()

        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.getsignal(signum)
            signal.signal(signum, stop)
        return previous
