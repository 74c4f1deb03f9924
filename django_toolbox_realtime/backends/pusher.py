"""Sends events through the server's HTTP API (hosted Pusher, soketi, Reverb)."""

from __future__ import annotations

import json
from typing import Any

from pusher.crypto import encrypt

from ..crypto import master_key
from ..validation import ENCRYPTED_PREFIX, check_payload_size
from . import http_client as client
from .base import BaseBackend, OutgoingEvent


class PusherBackend(BaseBackend):
    delivers_to_server = True

    def trigger(self, event: OutgoingEvent) -> None:
        params: dict[str, Any] = {
            "name": event.name,
            "channels": list(event.channels),
            "data": self._wire_data(event.channels[0], event.data),
        }
        if event.socket_id:
            params["socket_id"] = event.socket_id
        client.send("POST", "/events", params)

    def trigger_batch(self, events: list[OutgoingEvent]) -> None:
        batch = []
        for event in events:
            item: dict[str, Any] = {
                "channel": event.channels[0],
                "name": event.name,
                "data": self._wire_data(event.channels[0], event.data),
            }
            if event.socket_id:
                item["socket_id"] = event.socket_id
            batch.append(item)
        client.send("POST", "/batch_events", {"batch": batch})

    @staticmethod
    def _wire_data(channel: str, data: str) -> str:
        if not channel.startswith(ENCRYPTED_PREFIX):
            return data
        wire = json.dumps(encrypt(channel, data, master_key()), ensure_ascii=False)
        check_payload_size(wire, what="Encrypted event data")
        return wire
