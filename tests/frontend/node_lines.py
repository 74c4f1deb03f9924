"""Drive a Node script that reads JSON commands on stdin and prints JSON events,
one a line; events are collected on a thread, so tests wait on conditions with a
timeout and never sleep. (tests/auth/pusher_js.py drives pusher-js with it.)
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

Event = dict[str, Any]


class NodeLines:
    def __init__(self, script: Path, timeout: float = 15.0) -> None:
        self.timeout = timeout
        self.events: list[Event] = []
        self.stderr: list[str] = []
        self._cond = threading.Condition()
        self.process = subprocess.Popen(
            ["node", str(script)],
            cwd=str(ROOT),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self._threads = [
            threading.Thread(target=self._read, args=(self.process.stdout, True), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, False), daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self.wait_for(lambda e: e["event"] == "ready", what="the script to start")

    def _read(self, stream: Any, is_stdout: bool) -> None:
        for line in stream:
            if not is_stdout:
                self.stderr.append(line)
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = {"id": None, "event": "unparsed", "line": line}
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def send(self, cmd: str, client_id: str | None = None, **fields: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, "id": client_id, **fields}) + "\n")
        self.process.stdin.flush()

    def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float | None = None, what: str = "event"
    ) -> Event:
        """The first event matching ``predicate``; TimeoutError (with what came) after
        ``timeout`` seconds, at once if the script died or reported a failure."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                failed = [e for e in self.events if e["event"] == "failure"]
                remaining = deadline - time.monotonic()
                if failed or remaining <= 0 or self.process.poll() is not None:
                    raise TimeoutError(
                        f"no {what}; failures: {failed} events: "
                        f"{[(e.get('id'), e.get('event')) for e in self.events][-40:]} "
                        f"stderr: {''.join(self.stderr)[-1000:]}"
                    )
                self._cond.wait(min(remaining, 0.5))

    def of(self, client_id: str, event: str, **match: Any) -> list[Event]:
        """Events ``event`` of ``client_id`` whose fields equal ``match``."""
        with self._cond:
            return [
                e
                for e in self.events
                if e.get("id") == client_id
                and e["event"] == event
                and all(e.get(k) == v for k, v in match.items())
            ]

    def expect(self, client_id: str, event: str, **match: Any) -> Event:
        """Wait for ``event`` of ``client_id`` with fields equal to ``match``."""
        return self.wait_for(
            lambda e: (
                e.get("id") == client_id
                and e["event"] == event
                and all(e.get(k) == v for k, v in match.items())
            ),
            what=f"{event} {match} of {client_id}",
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
        for thread in self._threads:
            thread.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
