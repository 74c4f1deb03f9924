"""Concurrent claims on PostgreSQL never number a row twice.

The race this guards against (found by the chaos test of two workers: the same
event id arrived with seq 14 and seq 19). In READ COMMITTED a statement reads
rows as of its start, but ``FOR UPDATE`` returns the newest version of a row it
locks. A claim that locked a lane and read the lane's rows in ONE statement
could start, then lock a lane that another claim had just numbered and
committed: it saw the new ``last_seq`` but the rows as they were before, still
unnumbered, and numbered them again. The lanes are now locked by one statement
and their rows read by the next, whose snapshot is taken once the locks are held.

Several threads claim the same few lanes as fast as they can, each claim
recorded as sent at once: no row may be claimed twice, and every lane's numbers
must be 1, 2, 3, ... in send order.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from django_toolbox_realtime.backends import OutgoingEvent
from django_toolbox_realtime.delivery import lanes
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.validation import encode_payload

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent claims need row locks (FOR UPDATE SKIP LOCKED): PostgreSQL "
        "only; on SQLite claims run one at a time (CI runs this on PostgreSQL)",
    ),
]

CHANNELS = [f"public-race-{i}" for i in range(3)]
ROWS = 3000
THREADS = 4


def test_concurrent_claims_never_number_a_row_twice(settings):
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "DELIVERY": "outbox",
        "FIRST_ATTEMPT": "off",
    }
    for start in range(0, ROWS, 500):
        publish(
            OutgoingEvent("", "tick", (CHANNELS[n % 3],), encode_payload({"n": n}))
            for n in range(start, start + 500)
        )
    claims: list[list[lanes.Claimed]] = []
    claimers: set[int] = set()
    errors: list[BaseException] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 60

    def claimer() -> None:
        try:
            while time.monotonic() < deadline:
                claimed = lanes.claim("default", CHANNELS, limit=30)
                if claimed:
                    lanes.record("default", lanes.Outcome(delivered=claimed))
                    with lock:
                        claims.append(claimed)
                        claimers.add(threading.get_ident())
                elif not lanes.has_due("default", CHANNELS):
                    return
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claimer) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert not errors, errors
    rows = [row for claim in claims for row in claim]
    numbered: dict[int, set[int]] = {}
    for row in rows:
        numbered.setdefault(row.pk, set()).add(row.seq)
    twice = {pk: seqs for pk, seqs in numbered.items() if len(seqs) > 1}
    assert not twice, f"rows numbered twice: {list(twice.items())[:5]}"
    assert len(rows) == ROWS, f"{len(rows)} rows claimed for {ROWS}"  # none claimed twice
    for channel in CHANNELS:
        seqs = sorted(row.seq for row in rows if row.channel == channel)
        assert seqs == list(range(1, ROWS // 3 + 1)), channel
    assert len(claimers) > 1  # the threads did share the lanes
