"""What the load test runs against: a PostgreSQL database of its own, a real
soketi and the example project under gunicorn, all on 127.0.0.1; every process
started here is stopped here, by its own pid."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.soketi import SoketiServer, free_port

ROOT = Path(__file__).resolve().parent.parent.parent
PG_URL = "postgres://postgres@127.0.0.1:5432/toolbox_realtime_load?conn_max_age=600"
APP_ID = "515151"


def recreate_database(url: str) -> None:
    """Drop and create the database of ``url``: every run starts empty (use a
    database of the load test's own)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.strip("/")
    with psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
        connect_timeout=10,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # noqa: S608
        conn.execute(f'CREATE DATABASE "{name}"')  # noqa: S608


class Stack:
    """soketi + gunicorn (example project) with one set of credentials."""

    def __init__(self, database_url: str, workers: int = 2, threads: int = 4) -> None:
        self.key = "load-" + secrets.token_hex(8)
        self.secret = secrets.token_hex(16)
        self.soketi = SoketiServer(APP_ID, self.key, self.secret)
        self.port = free_port()
        self.database_url = database_url
        self.workers, self.threads = workers, threads
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"load-gunicorn-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The example project's settings, from its environment variables."""
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DATABASE_URL": self.database_url,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_hex(32),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PUSHER_APP_ID": APP_ID,
            "PUSHER_KEY": self.key,
            "PUSHER_SECRET": self.secret,
            "PUSHER_HOST": "127.0.0.1",
            "PUSHER_PORT": str(self.soketi.port),
            "PUSHER_SSL": "false",
            # A leave takes effect at once: the final state is compared with soketi's.
            "PUSHER_PRESENCE_GRACE_SECONDS": "0",
        }

    def start(self, timeout: float = 60.0) -> Stack:
        self.soketi.start()
        log = open(self.log_path, "wb")  # noqa: SIM115 (kept open for the child)
        self.gunicorn = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "example_project.wsgi:application",
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={self.workers}",
                "--worker-class=gthread",
                f"--threads={self.threads}",
                "--timeout=60",
                "--backlog=256",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited early: {self.log_tail()}")
            if self._answers():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not ready after {timeout} s: {self.log_tail()}")

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/accounts/login/", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        process, self.gunicorn = self.gunicorn, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.soketi.stop()

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return "(no log)"

    def __enter__(self) -> Stack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def manage(stack: Stack, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    """``manage.py`` with the example project's settings of ``stack``."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
