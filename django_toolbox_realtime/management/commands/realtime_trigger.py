"""``manage.py realtime_trigger CHANNEL EVENT JSON``: publish one event by hand."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...delivery.api import trigger_event
from ...exceptions import RealtimeError


class Command(BaseCommand):
    help = 'Publish one event: realtime_trigger CHANNEL EVENT \'{"json": "data"}\'.'

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("channel")
        parser.add_argument("event")
        parser.add_argument("data", nargs="?", default="{}", help="JSON data (default {})")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data = json.loads(options["data"])
        except ValueError as exc:
            raise CommandError(f"DATA is not valid JSON: {exc}") from exc
        try:
            result = trigger_event(options["channel"], options["event"], data)
        except RealtimeError as exc:
            raise CommandError(str(exc)) from exc
        if not result["sent"]:
            raise CommandError(f"Not sent (delivery is disabled). Event id {result['id']}.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Sent {result['event']!r} on {', '.join(result['channels'])} (id {result['id']})."
            )
        )
