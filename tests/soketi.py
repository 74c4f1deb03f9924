"""Start and stop a real soketi server for tests, benchmarks and the demo.

soketi comes from the npm registry (package.json); ``npm ci`` installs it.
Each server gets free ports (WebSocket/HTTP and metrics), so several can run
next to each other and next to a running ``make demo``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOKETI_JS = ROOT / "node_modules" / "@soketi" / "soketi" / "bin" / "server.js"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SoketiServer:
    """One soketi process. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        app_id: str,
        key: str,
        secret: str,
        *,
        webhooks: list[dict[str, Any]] | None = None,
        extra_env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.app_id, self.key, self.secret = app_id, key, secret
        self.port = port or free_port()
        self.webhooks = webhooks
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"soketi-{self.port}.log"

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/app/{self.key}?protocol=7&client=js&version=8.4.0"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "SOKETI_PORT": str(self.port),
                "SOKETI_METRICS_SERVER_PORT": str(free_port()),
                "SOKETI_DEFAULT_APP_ID": self.app_id,
                "SOKETI_DEFAULT_APP_KEY": self.key,
                "SOKETI_DEFAULT_APP_SECRET": self.secret,
                "SOKETI_DEFAULT_APP_USER_AUTHENTICATION": "true",
                # With user authentication on, soketi closes (4009) a connection
                # that has not signed in within 30 s: long tests and benchmarks
                # would silently lose their clients.
                "SOKETI_USER_AUTHENTICATION_TIMEOUT": "600000",
                "SOKETI_EVENT_MAX_SIZE_IN_KB": "10",
                "SOKETI_SHUTDOWN_GRACE_PERIOD": "100",
                "SOKETI_DEBUG": "0",
                # Loopback only. soketi always runs node-discover, which by default
                # broadcasts hello packets to 255.255.255.255 every 500 ms: send them
                # to 127.0.0.1 on a port of this server's own instead.
                "SOKETI_HOST": "127.0.0.1",
                "SOKETI_METRICS_HOST": "127.0.0.1",
                "SOKETI_CLUSTER_HOST": "127.0.0.1",
                "SOKETI_CLUSTER_UNICAST_ADDRESSES": "127.0.0.1",
                "SOKETI_CLUSTER_PORT": str(free_udp_port()),
            }
        )
        if self.webhooks is not None:
            env["SOKETI_DEFAULT_APP_WEBHOOKS"] = json.dumps(self.webhooks)
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 30.0) -> SoketiServer:
        if not SOKETI_JS.exists():
            raise RuntimeError(f"soketi is not installed ({SOKETI_JS}): run `npm ci`.")
        log = open(self.log_path, "wb")  # noqa: SIM115 (kept open for the child)
        self.process = subprocess.Popen(
            ["node", str(SOKETI_JS), "start"],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(ROOT),
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"soketi exited early: {self.log_tail()}")
            if self.ready():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"soketi not ready after {timeout} s: {self.log_tail()}")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.http_url}/ready", timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop this server by its own process id (never by name)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGCONT)  # a paused server must wake to act on it
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)

    # --- faults (tests/chaos): by this server's own process id --------------------
    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL: the server dies at once, mid-whatever (``start()`` brings it back
        on the same port)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=timeout)

    def pause(self) -> None:
        """SIGSTOP: the server hangs; connections stay open and nothing is answered."""
        assert self.process is not None and self.process.poll() is None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: a paused server answers again (what waited is handled then)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def log_tail(self, size: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return "(no log)"

    def __enter__(self) -> SoketiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
