"""``manage.py realtime_sync``: repair the stored channel and presence state from
the server's HTTP API.

Webhooks get lost (soketi never retries; a deploy can drop some), so run this
after an outage, at startup, or every few minutes from cron. It asks
``GET /channels`` once and ``GET /channels/<name>/users`` once per occupied
presence channel, then occupies / vacates channels and adds / removes members
so the state matches, sending the same signals a webhook would (``reason="sync"``)
unless ``--no-signals``. Rows a webhook updated after the snapshot was taken are
left alone. It also applies expired grace periods and prunes old records. The
repair is one state write (a few statements whatever the number of channels);
one that changed the state bumps the state's version, so health recomputes.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import state
from ...clock import now_ms
from ...delivery import server_api
from ...exceptions import RealtimeConfigurationError, RealtimeDeliveryError
from ...validation import PRESENCE_PREFIX
from ...webhooks import log as webhook_log


class Command(BaseCommand):
    help = "Repair stored channel/presence state from the server's HTTP API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prefix", default=None, help="only channels whose name starts with this"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would change; change nothing"
        )
        parser.add_argument(
            "--no-signals", action="store_true", help="repair the state without sending signals"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        prefix = options["prefix"]
        at_ms = now_ms()
        try:
            channels = server_api.fetch_channels(prefix=prefix)
            users = {
                name: server_api.fetch_users(name)
                for name in sorted(channels)
                if name.startswith(PRESENCE_PREFIX)
            }
        except (RealtimeDeliveryError, RealtimeConfigurationError) as exc:
            # The messages name the server and status, never the secret.
            raise CommandError(f"Cannot read the server's state: {exc}") from exc

        if options["dry_run"]:
            self._dry_run(channels, users, prefix)
            return
        report = state.reconcile(channels, users, at_ms=at_ms, prefix=prefix)
        if not options["no_signals"]:
            state.send_changes(report.changes, sender=type(self))
        webhook_log.prune()
        state.prune()
        self.stdout.write(
            f"{len(channels)} channel(s) occupied on the server; "
            f"occupied {len(report.occupied)}, vacated {len(report.vacated)}, "
            f"members added {len(report.joined)}, removed {len(report.left)}."
        )
        for name in report.occupied:
            self.stdout.write(f"  + channel {name}")
        for name in report.vacated:
            self.stdout.write(f"  - channel {name}")
        for channel, user in report.joined:
            self.stdout.write(f"  + {user} on {channel}")
        for channel, user in report.left:
            self.stdout.write(f"  - {user} on {channel}")

    def _dry_run(
        self, channels: dict[str, Any], users: dict[str, list[str]], prefix: str | None
    ) -> None:
        stored = set(state.active_channels(prefix))
        on_server = set(channels)
        self.stdout.write(f"Would occupy: {sorted(on_server - stored)}")
        self.stdout.write(f"Would vacate: {sorted(stored - on_server)}")
        for channel in sorted(set(users) | {c for c in stored if c.startswith(PRESENCE_PREFIX)}):
            have = set(state.online_users(channel))
            want = set(users.get(channel, []))
            if have != want:
                self.stdout.write(
                    f"{channel}: would add {sorted(want - have)}, remove {sorted(have - want)}"
                )
