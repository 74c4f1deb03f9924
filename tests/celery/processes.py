"""Subprocesses of the Celery tests: a real worker (and beat) started by the test,
stopped by its own process id, every wait bounded."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_RECEIVED = re.compile(r"Task [\w.]+\[([0-9a-f-]+)\] received")
_FINISHED = re.compile(
    r"(?:Task |[Dd]iscarding revoked task: )[\w.]+\[([0-9a-f-]+)\](?: succeeded| raised|$)",
    re.MULTILINE,
)


class Process:
    """A subprocess whose output lines a thread collects (no read ever blocks)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._done = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def wait_for_line(self, text: str, timeout: float = 60.0) -> str:
        """The first output line containing ``text`` (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._done:
                    raise AssertionError(f"no {text!r} line; output: {self.output()[-3000:]}")
                self._cond.wait(remaining)

    def output(self) -> str:
        return "".join(self.lines)

    def wait_tasks_done(self, timeout: float = 60.0) -> None:
        """Wait until every task the worker logged as received has finished
        (succeeded, raised or was discarded as expired)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                output = "".join(self.lines)
                received = set(_RECEIVED.findall(output))
                if received <= set(_FINISHED.findall(output)):
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._done:
                    raise AssertionError(f"tasks still running: {sorted(received)[:5]}")
                self._cond.wait(remaining)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (Celery's warm shutdown), SIGKILL after ``timeout``; the exit code."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                return self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
        return self.popen.wait(10)


def celery(command: list[str], db_url: str, realtime: dict[str, Any], **env: str) -> Process:
    """``celery -A tests.celery.celery_app <command>`` with the worker settings."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.celery.worker_settings",
        "DATABASE_URL": db_url,
        "RT_SETTINGS": json.dumps(realtime),
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    args = [sys.executable, "-m", "celery", "-A", "tests.celery.celery_app", *command]
    return Process(args, environment)


def migrate(db_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": db_url},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
