"""Drive ``tests/js/pusher_client.mjs`` (pusher-js in Node) from a test.

Commands go to the script's stdin and events come back as JSON lines, collected
on a thread so that tests wait on conditions with timeouts, never sleep.
"""

from __future__ import annotations

from typing import Any

from tests.frontend.node_lines import ROOT, Event, NodeLines

SCRIPT = ROOT / "tests" / "js" / "pusher_client.mjs"


class PusherJS(NodeLines):
    def __init__(self, timeout: float = 15.0) -> None:
        super().__init__(SCRIPT, timeout=timeout)

    # --- scenario helpers ------------------------------------------------------------
    def connect(self, client_id: str, **options: Any) -> str:
        self.send("connect", client_id, **options)
        return str(
            self.wait_for(
                lambda e: e.get("id") == client_id and e["event"] == "connected",
                what=f"{client_id} connected",
            )["socket_id"]
        )

    def subscribe(self, client_id: str, channel: str) -> Event:
        """Subscribe and wait for ``subscribed`` or ``subscription_error``."""
        self.send("subscribe", client_id, channel=channel)
        return self.wait_for(
            lambda e: (
                e.get("id") == client_id
                and e.get("channel") == channel
                and e["event"] in ("subscribed", "subscription_error")
            ),
            what=f"{client_id} subscription to {channel}",
        )
