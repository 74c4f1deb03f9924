"""What the fault tests share: the registered model, the tally of what a real
WebSocket client received, the drain through ``realtime_deliver``, and the "web
process" (saves in a subprocess, as a web worker would make them).

Everything goes through public surfaces: ``save()`` of a model registered in
``TOOLBOX_REALTIME["MODELS"]``, ``manage.py realtime_deliver``, the history
endpoint and a Pusher-protocol client. Nothing here reaches into delivery's
internals, so the tests survive a rewrite of the sender.
"""

from __future__ import annotations

import json
import queue
import re
import statistics
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

from django.core.management import call_command

from tests.delivery.test_outbox_process import _lines, manage, read_until
from tests.pusher_ws import PusherWSClient

EVENT = "quiz.created"
CHANNEL = "public-chaos-{classroom_id}"
#: The registration every fault test uses: each new Quiz is an event on its
#: classroom's public channel (one channel per classroom: several lanes).
MODELS = {"classroom.Quiz": {"channels": [CHANNEL], "fields": ["id", "title", "classroom"]}}


def channel_of(classroom_id: int) -> str:
    return CHANNEL.format(classroom_id=classroom_id)


def delivery_settings(server_port: int, **extra: Any) -> dict[str, Any]:
    """TOOLBOX_REALTIME keys (over the test settings) for delivery to a soketi on
    ``server_port`` (or a proxy in front of one), quick retries, no grace."""
    return {
        "BACKEND": "django_toolbox_realtime.backends.pusher.PusherBackend",
        "HOST": "127.0.0.1",
        "PORT": server_port,
        "SSL": False,
        "DELIVERY": "outbox",
        "MODELS": MODELS,
        "TIMEOUT": 2,
        "RETRY_BASE_SECONDS": 0.05,
        "RETRY_MAX_SECONDS": 0.3,
        "FIRST_ATTEMPT_GRACE_SECONDS": 0,
        "WORKER_POLL_SECONDS": 0.05,
        # Quick retries would dead-letter an event within seconds of an outage
        # with the default 50 tries: these outages last longer than that.
        "MAX_ATTEMPTS": 100_000,
        **extra,
    }


def p99(durations: list[float]) -> float:
    return statistics.quantiles(durations, n=100)[98] if len(durations) > 1 else durations[0]


def report(label: str, durations: list[float]) -> str:
    line = (
        f"{label}: {len(durations)} saves, p50 {statistics.median(durations) * 1000:.1f} ms, "
        f"p99 {p99(durations) * 1000:.1f} ms, max {max(durations) * 1000:.1f} ms"
    )
    print(line)
    return line


# --- what a client received ----------------------------------------------------------


@dataclass
class Tally:
    """The ``quiz.created`` events of some clients (and history pages), by pk."""

    ids: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    seqs: dict[str, set[tuple[str, int]]] = field(default_factory=lambda: defaultdict(set))
    order: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    copies: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, channel: str, data: dict[str, Any]) -> None:
        envelope = data["_rt"]
        self.ids[int(data["id"])].add(envelope["id"])
        self.seqs[envelope["id"]].add((channel, envelope["seq"]))
        if envelope["id"] not in self.copies:
            self.order[channel].append(envelope["id"])
        self.copies[envelope["id"]] += 1

    def add_messages(self, messages: list[dict[str, Any]]) -> Tally:
        for message in messages:
            if message.get("event") == EVENT:
                self.add(message["channel"], json.loads(message["data"]))
        return self

    @property
    def repeats(self) -> int:
        return sum(self.copies.values()) - len(self.copies)

    def assert_complete(self, expected: dict[int, str]) -> None:
        """Every saved pk arrived with the id its save published; a repeat carries
        an id (and seq) seen before; ids are never shared between pks."""
        missing = sorted(set(expected) - set(self.ids))
        assert not missing, (
            f"{len(missing)} of {len(expected)} events never arrived: {missing[:20]}"
        )
        assert set(self.ids) == set(expected), "events of rows that were never saved"
        wrong = {pk: ids for pk, ids in self.ids.items() if ids != {expected[pk]}}
        assert not wrong, f"events arrived under other ids than published: {list(wrong)[:5]}"
        moved = {i: s for i, s in self.seqs.items() if len(s) != 1}
        assert not moved, f"a repeat came with another channel or seq: {list(moved.items())[:5]}"

    def assert_in_publish_order(self, published: dict[str, list[str]]) -> None:
        """Per channel, first arrivals in the order the saves published them."""
        for channel, ids in published.items():
            assert self.order[channel] == ids, f"{channel}: not in publish order"


class Watch:
    """A client's tally, kept up to date incrementally (thousands of messages)."""

    def __init__(self, client: PusherWSClient) -> None:
        self.client = client
        self.tally = Tally()
        self._read = 0

    def update(self, messages: list[dict[str, Any]]) -> Tally:
        self.tally.add_messages(messages[self._read :])
        self._read = len(messages)
        return self.tally

    def wait(self, count: int, timeout: float) -> bool:
        """Whether the client has ``count`` distinct event ids within ``timeout``."""
        return self.client.wait_until(
            lambda messages: len(self.update(messages).copies) >= count, timeout
        )

    @property
    def distinct(self) -> int:
        return len(self.update(list(self.client.messages)).copies)


# --- the outbox worker: manage.py realtime_deliver -----------------------------------


def deliver_once() -> str:
    out = StringIO()
    call_command("realtime_deliver", "--once", stdout=out)
    return out.getvalue()


def drain_until(watch: Watch, count: int, timeout: float = 90.0) -> list[str]:
    """``realtime_deliver --once`` (in this process, on the test database) again and
    again until the watched client has ``count`` distinct events; its outputs."""
    deadline = time.monotonic() + timeout
    outputs: list[str] = []
    while not watch.wait(count, timeout=0.1):
        assert time.monotonic() < deadline, (
            f"{watch.distinct} of {count} events after {timeout} s of draining; "
            f"last worker output: {outputs[-3:]}"
        )
        outputs.append(deliver_once())
    return outputs


def sent_by(outputs: list[str]) -> int:
    """Events the worker says it sent (its "stopped after ...: N sent" lines)."""
    return sum(int(m) for out in outputs for m in re.findall(r"round\(s\): (\d+) sent", out))


def start_worker(db_url: str, realtime: dict[str, Any], processes: list) -> subprocess.Popen:
    """``manage.py realtime_deliver`` (looping) in a subprocess, started and reading
    its output (so that a long run never fills the pipe)."""
    worker = manage(db_url, realtime, "realtime_deliver")
    processes.append(worker)
    read_until(worker, "realtime_deliver on database")
    return worker


# --- the web process: saves in a subprocess --------------------------------------------

#: Saves RT_COUNT quizzes, each in its own transaction (a request with
#: ATOMIC_REQUESTS), in the classrooms RT_ROOMS in turn; prints each save's pk,
#: event id and duration, then lingers RT_LINGER seconds (its background sender
#: keeps trying meanwhile) and says what the first tries left in the outbox.
WEB = """
import json, os, time
from django.db import transaction
from django_toolbox_realtime import broadcasts
from django_toolbox_realtime.models import OutboxEvent
from example_project.classroom.models import Classroom, Quiz
rooms = json.loads(os.environ["RT_ROOMS"])
for room in rooms:
    Classroom.objects.get_or_create(pk=room, defaults={"name": f"chaos {room}"})
for n in range(int(os.environ["RT_COUNT"])):
    started = time.perf_counter()
    with transaction.atomic():
        quiz = Quiz.objects.create(classroom_id=rooms[n % len(rooms)], title=f"q{n}")
    took = time.perf_counter() - started
    [event] = broadcasts.published_events(quiz)
    print("saved", quiz.pk, event.id, quiz.classroom_id, took, flush=True)
print("done", flush=True)
deadline = time.monotonic() + float(os.environ.get("RT_LINGER", "0"))
failed = OutboxEvent.objects.exclude(last_error="")
while time.monotonic() < deadline and not failed.exists():
    time.sleep(0.05)
tried = failed.order_by("pk").first()
print("tried", json.dumps(tried and {"attempts": tried.attempts, "error": tried.last_error}))
time.sleep(float(os.environ.get("RT_HOLD", "0")))
"""


@dataclass
class Saves:
    """What a web process saved: pk -> event id, publish order per channel, timings."""

    ids: dict[int, str] = field(default_factory=dict)
    published: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    durations: list[float] = field(default_factory=list)

    def add(self, pk: int, event_id: str, classroom_id: int, took: float) -> None:
        self.ids[pk] = event_id
        self.published[channel_of(classroom_id)].append(event_id)
        self.durations.append(took)


def web_process(db_url: str, realtime: dict[str, Any], rooms: list[int], count: int, **env: str):
    return manage(db_url, realtime, WEB, RT_ROOMS=json.dumps(rooms), RT_COUNT=str(count), **env)


def read_saves(process: subprocess.Popen, timeout: float = 120.0) -> Saves:
    """Read the web process's ``saved`` lines until ``done``."""
    saves = Saves()
    lines = _lines(process)  # the one reader of the process's output (read_until's)
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            break
        if line.startswith("saved "):
            _, pk, event_id, room, took = line.split()
            saves.add(int(pk), event_id, int(room), float(took))
        elif line.startswith("done"):
            return saves
    raise AssertionError(f"the web process did not finish its saves ({len(saves.ids)} made)")
