"""``manage.py realtime_check``: is the configuration right and does the server answer?

Runs the app's system checks, then one signed round-trip to the server's HTTP
API (which proves APP_ID and SECRET), then one WebSocket connection with the KEY
(the HTTP API cannot prove it: soketi ignores the key there), as a browser makes
it. Exits non-zero with a plain message naming the setting on any failure; never
prints the secret.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...backends.http_client import server_label
from ...checks import check_settings
from ...conf import SETTINGS_NAME, realtime_settings
from ...delivery import server_api, socket_probe
from ...exceptions import RealtimeConfigurationError, RealtimeDeliveryError

MAX_TIMEOUT = 60  # seconds: a check, not a wait


class Command(BaseCommand):
    help = (
        "Check the TOOLBOX_REALTIME configuration, make a signed round-trip to the server's "
        "HTTP API and open a WebSocket with the KEY."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--timeout",
            type=float,
            default=socket_probe.DEFAULT_TIMEOUT,
            help="Seconds allowed for the WebSocket check (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 < options["timeout"] <= MAX_TIMEOUT:
            raise CommandError(f"--timeout must be more than 0 and at most {MAX_TIMEOUT} seconds.")
        problems = check_settings()
        for problem in problems:
            style = self.style.ERROR if problem.is_serious() else self.style.WARNING
            self.stderr.write(style(f"{problem.id}: {problem.msg}"))
        if any(p.is_serious() for p in problems):
            raise CommandError("The configuration has errors (see above).")
        s = realtime_settings
        self.stdout.write(f"Server:  {server_label()} ({'https' if s.SSL else 'http'})")
        self.stdout.write(f"App id:  {s.APP_ID}    key: {s.KEY}")
        if not s.ENABLED:
            self.stdout.write(
                self.style.WARNING(
                    f"{SETTINGS_NAME}['ENABLED'] is False: events are not sent. Checking the "
                    "server anyway."
                )
            )
        try:
            latency = server_api.ping()
        except RealtimeConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        except RealtimeDeliveryError as exc:
            if exc.status is None:
                raise CommandError(
                    f"Cannot reach the server's HTTP API ({str(exc).rstrip('.')}): check "
                    f"{socket_probe.server_settings()}. Is the server running?"
                ) from exc
            if exc.status == 401:
                raise CommandError(
                    f"The server at {server_label()} rejected the signature (401): the SECRET "
                    f"(or KEY) in {SETTINGS_NAME} is wrong for app {s.APP_ID}."
                ) from exc
            if exc.status == 404:
                raise CommandError(
                    f"The server at {server_label()} does not know app {s.APP_ID} (404): check "
                    f"{SETTINGS_NAME}['APP_ID']."
                ) from exc
            raise CommandError(f"The server did not answer correctly: {exc}") from exc
        self.stdout.write(
            f"HTTP API:  a signed request answered in {latency:.0f} ms "
            "(APP_ID and SECRET are valid)."
        )
        try:
            result = socket_probe.probe(timeout=options["timeout"])
        except RealtimeConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        if not result.ok:
            raise CommandError(result.message)
        self.stdout.write(
            f"WebSocket: {result.url} answered pusher:connection_established in "
            f"{result.latency_ms or 0:.0f} ms (KEY is valid)."
        )
        self.stdout.write(self.style.SUCCESS("OK: the credentials are valid."))
