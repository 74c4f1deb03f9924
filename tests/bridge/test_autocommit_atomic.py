"""An autocommit ``save()`` of a registered model commits the row and its outbox
row together: the bridge runs that save in one transaction (``atomic(savepoint=
False)``) only when no transaction is open. Nothing changes inside ``atomic()``
(no savepoint is added), in ``without_broadcasting()``, for raw fixture loads,
or for the user's own code around ``super().save()``."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, models, transaction
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from django_toolbox_realtime import broadcasts
from django_toolbox_realtime.models import OutboxEvent
from example_project.classroom.models import Classroom, Quiz
from tests.delivery.test_outbox_process import (  # noqa: F401 (fixtures)
    manage,
    processes,
    read_until,
    shared_db,
    sqlite_file,
)

OUTBOX_TABLE = OutboxEvent._meta.db_table

# In a subprocess (manage.py shell, like production): an autocommit save of the
# example's registered Agent, the process killed by SIGKILL just before the
# outbox row is written, i.e. after the model row's own autocommit (without the
# atomic save) or inside the one transaction (with it).
KILLED_SAVE = """
import os, signal
from django.db import connection
from django_toolbox_realtime import broadcasts
from django_toolbox_realtime.models import OutboxEvent
from example_project.classroom.models import Agent
with broadcasts.without_broadcasting():
    Agent.objects.filter(name="atomic-probe").delete()
    agent = Agent.objects.create(name="atomic-probe", status="idle")
OutboxEvent.objects.all().delete()
def die_before_outbox(execute, sql, params, many, context):
    if sql.lstrip().upper().startswith("INSERT") and OutboxEvent._meta.db_table in sql:
        print("killing", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    return execute(sql, params, many, context)
agent.status = "busy"
assert connection.get_autocommit() and not connection.in_atomic_block
with connection.execute_wrapper(die_before_outbox):
    agent.save()
print("survived", flush=True)
"""

READ_STATE = """
import json
from django_toolbox_realtime.models import OutboxEvent
from example_project.classroom.models import Agent
agent = Agent.objects.get(name="atomic-probe")
rows = OutboxEvent.objects.filter(source__startswith=f"classroom.Agent#{agent.pk} ").count()
print("state", json.dumps({"status": agent.status, "rows": rows}), flush=True)
"""


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_killed_between_the_row_and_the_outbox_row_loses_neither_alone(
    shared_db: str,  # noqa: F811
    processes: list[subprocess.Popen],  # noqa: F811
) -> None:
    realtime = {"DELIVERY": "outbox", "FIRST_ATTEMPT": "off"}
    saver = manage(shared_db, realtime, KILLED_SAVE)
    processes.append(saver)
    read_until(saver, "killing")
    assert saver.wait(30) == -signal.SIGKILL
    reader = manage(shared_db, realtime, READ_STATE)
    processes.append(reader)
    state = json.loads(read_until(reader, "state "))
    # The change and its event commit together: the kill undid both (before the
    # atomic save the status was "busy" with no outbox row: the event was lost).
    assert state == {"status": "idle", "rows": 0}


@contextmanager
def statements() -> Iterator[list[tuple[str, bool, int]]]:
    """Every statement run, as (SQL, inside an atomic block, commits so far)."""
    seen: list[tuple[str, bool, int]] = []
    commits = [0]
    real_commit = connection.commit

    def commit() -> None:
        commits[0] += 1
        real_commit()

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, connection.in_atomic_block, commits[0]))
        return execute(sql, params, many, context)

    connection.commit = commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(wrapper):
            yield seen
    finally:
        del connection.commit
    seen.append(("-- end", connection.in_atomic_block, commits[0]))


def writes(seen: list[tuple[str, bool, int]], table: str) -> list[tuple[str, bool, int]]:
    return [s for s in seen if table in s[0] and not s[0].lstrip().upper().startswith("SELECT")]


@pytest.fixture
def outbox_off(settings: Any) -> None:
    """Outbox delivery with no first try: the statements are the save's only."""
    settings.TOOLBOX_REALTIME = {
        **settings.TOOLBOX_REALTIME,
        "DELIVERY": "outbox",
        "FIRST_ATTEMPT": "off",
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_off")
class TestAutocommitSave:
    def test_the_row_and_its_outbox_row_share_one_transaction(self, register: Any) -> None:
        register(Quiz)
        room = Classroom.objects.create(name="R")
        for save in ("create", "update"):
            with statements() as seen:
                if save == "create":
                    quiz = Quiz.objects.create(classroom=room, title="a")
                else:
                    quiz.title = "b"
                    quiz.save()
            [model_write] = writes(seen, Quiz._meta.db_table)
            [outbox_write] = writes(seen, OUTBOX_TABLE)
            assert model_write[1] and outbox_write[1], seen  # both inside a transaction...
            assert model_write[2] == outbox_write[2] == 0, seen  # ...the same one
            assert seen[-1][1:] == (False, 1), seen  # committed once, autocommit again
        assert OutboxEvent.objects.count() == 2

    def test_delete_was_already_one_transaction(self, register: Any) -> None:
        register(Quiz)
        quiz = Quiz.objects.create(classroom=Classroom.objects.create(name="R"), title="a")
        with statements() as seen:
            quiz.delete()
        [model_write] = writes(seen, Quiz._meta.db_table)
        [outbox_write] = writes(seen, OUTBOX_TABLE)
        assert model_write[1] and outbox_write[1] and model_write[2] == outbox_write[2] == 0
        assert seen[-1][1:] == (False, 1)

    def test_a_failing_save_leaves_neither_row(self, register: Any) -> None:
        register(Quiz)
        room = Classroom.objects.create(name="R")

        def boom(sender: Any, instance: Quiz, **kwargs: Any) -> None:
            raise RuntimeError("a later post_save receiver fails")

        post_save.connect(boom, sender=Quiz, dispatch_uid="test-boom")
        try:
            with pytest.raises(RuntimeError):
                Quiz.objects.create(classroom=room, title="never")
        finally:
            post_save.disconnect(sender=Quiz, dispatch_uid="test-boom")
        assert not connection.in_atomic_block and connection.get_autocommit()
        assert not Quiz.objects.exists() and not OutboxEvent.objects.exists()

    def test_inside_atomic_no_savepoint_is_added(self, register: Any) -> None:
        register(Quiz)
        room = Classroom.objects.create(name="R")
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            Quiz.objects.create(classroom=room, title="a")
        sql = [q["sql"].upper() for q in queries.captured_queries]
        assert not [s for s in sql if "SAVEPOINT" in s], sql
        assert OutboxEvent.objects.count() == 1

    def test_without_broadcasting_the_save_is_untouched(self, register: Any) -> None:
        register(Quiz)
        room = Classroom.objects.create(name="R")
        with broadcasts.without_broadcasting(), statements() as seen:
            Quiz.objects.create(classroom=room, title="quiet")
        assert [s[1:] for s in writes(seen, Quiz._meta.db_table)] == [(False, 0)]
        assert seen[-1][1:] == (False, 0)  # no transaction was opened
        assert not OutboxEvent.objects.exists()

    def test_an_override_of_save_keeps_its_own_writes_outside(
        self, register: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Only Django's ``save_base`` (the row and the signals) is wrapped: what a
        ``save()`` override does after ``super().save()`` runs as it did."""
        after: list[tuple[bool, bool]] = []

        def save(self: Quiz, *args: Any, **kwargs: Any) -> None:
            self.title = self.title.strip()
            models.Model.save(self, *args, **kwargs)
            after.append((connection.in_atomic_block, OutboxEvent.objects.exists()))

        monkeypatch.setattr(Quiz, "save", save, raising=False)
        register(Quiz)
        room = Classroom.objects.create(name="R")
        with statements() as seen:
            Quiz.objects.create(classroom=room, title="  padded  ")
        assert Quiz.objects.get().title == "padded"
        assert after == [(False, True)]  # committed with its outbox row before the rest
        [model_write] = writes(seen, Quiz._meta.db_table)
        [outbox_write] = writes(seen, OUTBOX_TABLE)
        assert model_write[1] and outbox_write[1]

    def test_explicit_using_is_the_connection_wrapped(self, register: Any) -> None:
        register(Quiz)
        room = Classroom.objects.create(name="R")
        quiz = Quiz(classroom=room, title="a")
        with statements() as seen:
            quiz.save(using="default")
        assert all(s[1] for s in writes(seen, Quiz._meta.db_table) + writes(seen, OUTBOX_TABLE))
        assert OutboxEvent.objects.count() == 1

    def test_raw_fixture_loads_are_untouched(self, register: Any, tmp_path: Path) -> None:
        register(Quiz)
        room = Classroom.objects.create(name="R")
        fixture = tmp_path / "quiz.json"
        fields = {"classroom": room.pk, "title": "from a fixture", "questions": []}
        fixture.write_text(json.dumps([{"model": "classroom.quiz", "pk": 7, "fields": fields}]))
        call_command("loaddata", str(fixture), verbosity=0)
        assert Quiz.objects.get(pk=7).title == "from a fixture"
        assert not OutboxEvent.objects.exists()

    def test_unregister_removes_the_wrapper(self, register: Any) -> None:
        original = Quiz.save_base
        register(Quiz)
        assert Quiz.save_base is not original
        broadcasts.unregister(Quiz)
        assert Quiz.save_base is original and "save_base" not in Quiz.__dict__
        register(Quiz)  # the fixture unregisters it again


def test_the_wrapper_is_only_on_registered_models(register: Callable[..., Any]) -> None:
    register(Quiz)
    assert "save_base" in Quiz.__dict__
    assert "save_base" not in Classroom.__dict__  # not registered here: untouched
