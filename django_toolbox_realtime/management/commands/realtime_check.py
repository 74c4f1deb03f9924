"""``manage.py realtime_check``: is the configuration right and does the server answer?

Runs the app's system checks, then one signed round-trip to the server's HTTP
API (which proves APP_ID, KEY and SECRET). Exits non-zero with a plain message
on any failure; never prints the secret.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...backends.http_client import server_label
from ...checks import check_settings
from ...conf import SETTINGS_NAME, realtime_settings
from ...delivery import server_api
from ...exceptions import RealtimeConfigurationError, RealtimeDeliveryError


class Command(BaseCommand):
    help = "Check the TOOLBOX_REALTIME configuration and make a real round-trip to the server."

    def handle(self, *args: Any, **options: Any) -> None:
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
            self.style.SUCCESS(
                f"OK: the server answered a signed request in {latency:.0f} ms; "
                "credentials are valid."
            )
        )
