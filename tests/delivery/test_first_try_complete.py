"""With no ``realtime_deliver`` running, the first try after commit sends every row
it was handed on a healthy server: a backlog larger than one round, and a row
committed while another sender held its channel's rows (found by the full
benchmark run: such a row waited for a worker that was not there).

Backends here never leave the process (locmem) unless a test says so, so the
first try runs where the test can wait for it; on PostgreSQL the "leaves the
process" variant runs on the real background thread."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from django_toolbox_realtime.backends import OutgoingEvent, locmem
from django_toolbox_realtime.backends.locmem import LocmemBackend
from django_toolbox_realtime.delivery import lanes, sender
from django_toolbox_realtime.delivery.publish import publish
from django_toolbox_realtime.models import OutboxEvent

pytestmark = pytest.mark.django_db(transaction=True)

LOCMEM = "django_toolbox_realtime.backends.locmem.LocmemBackend"
THREADED = "tests.delivery.test_first_try_complete.ServerLikeBackend"


class ServerLikeBackend(LocmemBackend):
    """Locmem that says it talks to a server: the first try then runs on the
    background thread where the database allows it (PostgreSQL, a SQLite file)."""

    delivers_to_server = True


def _event(channel: str, n: int) -> OutgoingEvent:
    return OutgoingEvent("", "tick", (channel,), json.dumps({"n": n}))


def _sent_numbers(channel: str) -> list[int]:
    return [json.loads(e.data)["n"] for e in locmem.outbox if e.channels == (channel,)]


@pytest.mark.parametrize("backend", [LOCMEM, THREADED])
def test_a_backlog_larger_than_the_first_trys_rounds_is_all_sent(settings, backend):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "BACKEND": backend}
    count = sender.MAX_ROUNDS * lanes.ROUND_ROWS + 50  # more than the rounds one try runs
    with transaction.atomic():
        publish([_event("public-backlog", n) for n in range(count)])
    assert sender.wait_idle(30)
    assert OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING).count() == 0
    assert _sent_numbers("public-backlog") == list(range(count))


def test_a_row_committed_behind_another_senders_lease_is_sent_when_it_is_done(
    settings, monkeypatch
):
    """Sender A holds the lane's first row (claimed, being sent) when a second row
    commits; that row's own first try (another process's, here run inline) finds
    the lane's head leased and takes nothing. A must send it once it is done."""
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "BACKEND": LOCMEM,
        "FIRST_ATTEMPT": "inline",
    }
    real_trigger_batch = LocmemBackend.trigger_batch
    other_commits = []

    def trigger_batch(self, events):
        if not other_commits:  # during A's send: another process commits a row
            other_commits.append(publish([_event("public-contended", 2)]))  # autocommit
            assert OutboxEvent.objects.filter(seq__isnull=True).count() == 1  # it took nothing
        real_trigger_batch(self, events)

    monkeypatch.setattr(LocmemBackend, "trigger_batch", trigger_batch)
    publish([_event("public-contended", 1)])  # autocommit: A's first try runs now
    assert other_commits, "the second commit did not happen during the first send"
    assert OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING).count() == 0
    assert _sent_numbers("public-contended") == [1, 2]
    seqs = OutboxEvent.objects.order_by("seq").values_list("seq", flat=True)
    assert list(seqs) == [1, 2]
