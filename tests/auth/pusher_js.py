"""Drive ``tests/js/pusher_client.mjs`` (pusher-js in Node) from a test.

Commands go to the script's stdin and events come back as JSON lines, collected
on a thread so that tests wait on conditions with timeouts, never sleep.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "js" / "pusher_client.mjs"

Event = dict[str, Any]


class PusherJS:
    def __init__(self, timeout: float = 15.0) -> None:
        self.timeout = timeout
        self.events: list[Event] = []
        self.stderr: list[str] = []
        self._cond = threading.Condition()
        self.process = subprocess.Popen(
            ["node", str(SCRIPT)],
            cwd=str(ROOT),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self.wait_for(lambda e: e["event"] == "ready")

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"id": None, "event": "unparsed", "line": line}
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def send(self, cmd: str, client_id: str | None = None, **fields: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, "id": client_id, **fields}) + "\n")
        self.process.stdin.flush()

    def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float | None = None, what: str = "event"
    ) -> Event:
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    raise TimeoutError(
                        f"no {what} within the timeout; events: "
                        f"{[(e.get('id'), e.get('event')) for e in self.events][-40:]} "
                        f"stderr: {''.join(self.stderr)[-1000:]}"
                    )
                self._cond.wait(min(remaining, 0.5))

    def of(self, client_id: str, event: str) -> list[Event]:
        with self._cond:
            return [e for e in self.events if e.get("id") == client_id and e["event"] == event]

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

    def close(self) -> None:
        """Stop the Node process (by its own pid): politely, then by force."""
        if self.process.poll() is None:
            try:
                self.send("exit")
                self.process.wait(timeout=5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                self.process.send_signal(signal.SIGKILL)
                self.process.wait(timeout=5)
        if self.process.stdin is not None:
            self.process.stdin.close()
        for thread in self._threads:  # the process is gone: its pipes reach EOF
            thread.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
