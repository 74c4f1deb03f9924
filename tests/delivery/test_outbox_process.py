"""The outbox across processes (``manage.py`` in subprocesses, like production):
a process killed between commit and send loses nothing, realtime_deliver stops
gracefully on SIGTERM, and on a file SQLite database the background first try
keeps saves fast while the server hangs."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.conftest import PUSHER_BACKEND
from tests.delivery.test_outbox_outage import HungServer

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]

PUBLISH = """
import json, os, time
from django.contrib.auth.models import Group
from django.db import transaction
from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.delivery.publish import publish
durations = []
for n in range(int(os.environ["RT_COUNT"])):
    started = time.perf_counter()
    with transaction.atomic():
        Group.objects.create(name=f"group-{os.getpid()}-{n}")
        [e] = publish([OutgoingEvent(id="", name="survivor", channels=("public-proc",),
                                     data=json.dumps({"n": n}))], source=f"proc #{n}")
    durations.append(time.perf_counter() - started)
    print("published", e.id, flush=True)
print("durations", json.dumps(durations), flush=True)
time.sleep(float(os.environ.get("RT_LINGER", "0")))
"""

# Applies RT_SETTINGS over the test settings, then runs the command given.
BOOT = """
import json, os, sys
from django.conf import settings
from django.test.utils import override_settings
override_settings(TOOLBOX_REALTIME={**settings.TOOLBOX_REALTIME,
                                    **json.loads(os.environ["RT_SETTINGS"])}).enable()
"""


def manage(db_url: str, realtime: dict[str, Any], *args: str, **env: str) -> subprocess.Popen:
    """``manage.py shell -c <BOOT + script>`` or ``realtime_deliver`` in a subprocess."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": db_url,
        "RT_SETTINGS": json.dumps(realtime),
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    if args[0] == "realtime_deliver":
        command = [
            "shell",
            "-c",
            BOOT + f"\nfrom django.core.management import call_command\n"
            f"call_command({', '.join(map(repr, args))})",
        ]
    else:
        command = ["shell", "-c", BOOT + args[0]]
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *command],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated file SQLite database, as a DATABASE_URL."""
    url = f"sqlite:///{tmp_path_factory.mktemp('outbox') / 'db.sqlite3'}"
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return url


@pytest.fixture
def shared_db(sqlite_file: str) -> str:
    """A database this test and its subprocesses share: the test database itself on
    PostgreSQL (this test commits), else the file SQLite database."""
    if connection.vendor != "postgresql":
        return sqlite_file
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def read_until(process: subprocess.Popen, prefix: str, timeout: float = 60.0) -> str:
    """What follows ``prefix`` on the first output line starting with it (waiting up
    to ``timeout``; lines are read by a thread, so no read can block the test)."""
    lines = _lines(process)
    deadline = time.monotonic() + timeout
    seen = []
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise AssertionError(f"no {prefix!r} line; output: {''.join(seen)[-3000:]}")


def rest_of_output(process: subprocess.Popen, timeout: float = 10.0) -> str:
    """Every line still to come, until the process has closed its output."""
    lines, found = _lines(process), []
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            break
        found.append(line)
    return "".join(found)


_readers: dict[int, queue.Queue] = {}


def _lines(process: subprocess.Popen) -> queue.Queue:
    if process.pid not in _readers:
        lines: queue.Queue = queue.Queue()

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        _readers[process.pid] = lines
    return _readers[process.pid]


def server_settings(server: Any, **extra: Any) -> dict[str, Any]:
    return {
        "BACKEND": PUSHER_BACKEND,
        "HOST": "127.0.0.1",
        "PORT": server.port,
        "SSL": False,
        "DELIVERY": "outbox",
        **extra,
    }


def publish_to_hung(
    db: str, hung: Any, processes: list, *, timeout: int, count: int, linger: int
) -> subprocess.Popen:
    """A publisher process whose first tries (in the background) go to ``hung``."""
    publisher = manage(
        db,
        server_settings(hung, TIMEOUT=timeout, FIRST_ATTEMPT="background"),
        PUBLISH,
        RT_COUNT=str(count),
        RT_LINGER=str(linger),
    )
    processes.append(publisher)
    return publisher


def test_killed_between_commit_and_send_is_delivered_later_with_the_same_id(
    shared_db, soketi, ws_client, processes
):
    hung = HungServer()
    try:
        publisher = publish_to_hung(shared_db, hung, processes, timeout=1, count=1, linger=60)
        event_id = read_until(publisher, "published ")
        assert hung.accepted.wait(20)  # committed; the first try is in flight...
        os.killpg(publisher.pid, signal.SIGKILL)  # ...and the process dies
        publisher.wait(10)
    finally:
        hung.close()
    client = ws_client()
    client.subscribe("public-proc")
    worker = manage(
        shared_db,
        server_settings(soketi, TIMEOUT=2, WORKER_POLL_SECONDS=0.1, FIRST_ATTEMPT_GRACE_SECONDS=0),
        "realtime_deliver",
    )
    processes.append(worker)
    # Delivered once the dead process's lease on the row has run out (TIMEOUT * 2 + 1 s).
    message = client.wait_for(lambda m: m["event"] == "survivor", timeout=30)
    assert json.loads(message["data"])["_rt"] == {"id": event_id, "seq": 1}
    read_until(worker, "round ")
    os.killpg(worker.pid, signal.SIGTERM)
    assert worker.wait(10) == 0  # graceful: finished its round, exited 0
    rest = rest_of_output(worker)
    assert "SIGTERM: stopping after this round" in rest and "1 sent" in rest


def test_on_a_file_sqlite_database_a_hung_server_does_not_slow_saves(sqlite_file, processes):
    hung = HungServer()
    try:
        publisher = publish_to_hung(sqlite_file, hung, processes, timeout=3, count=40, linger=30)
        durations = json.loads(read_until(publisher, "durations "))
        assert hung.accepted.wait(10)  # the background first try did reach the server
        durations.sort()
        p99 = durations[int(len(durations) * 0.99) - 1]
        assert p99 < 1.0, durations
    finally:
        hung.close()
