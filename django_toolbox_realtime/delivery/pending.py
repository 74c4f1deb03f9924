"""What the current transaction has published, by coalescing key.

Django has no rollback hook, so the memory is tied to an object Django replaces
per transaction: each publish registers its own ``on_commit`` callback (a
:class:`Published`), and Django drops that callback when the transaction, or the
savepoint it was registered in, is rolled back. A remembered publish is alive
exactly while its callback is still in the connection's list of commit hooks.

That list object itself is replaced on commit, rollback and savepoint rollback
(appending keeps it), so while it is the same object nothing remembered can have
died: the check costs one identity comparison, and a scan only after a change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, transaction

from ..backends import OutgoingEvent

logger = logging.getLogger("django_toolbox_realtime.delivery")


@dataclass(eq=False)
class Published:
    """One publish, waiting for its transaction to commit (then called)."""

    alias: str
    key: str | None
    tag: str
    events: list[OutgoingEvent]
    #: Outbox rows written for it (outbox mode), deleted if it is replaced.
    row_ids: list[int]
    #: The savepoints that were open when it was registered.
    savepoints: frozenset[str | None]
    #: What to do after commit (hand the rows or events to the sender).
    then: Callable[[Published], None]
    #: Replaced by a later publish with the same key that lives and dies with it.
    cancelled: bool = False
    row_count: int = field(init=False)

    def __post_init__(self) -> None:
        self.row_count = sum(len(event.channels) for event in self.events)

    def __call__(self) -> None:
        _forget(self)
        if self.cancelled or not self.events:
            return
        try:
            self.then(self)
        except Exception:  # never into the committing request: the outbox row stays
            logger.exception("Handing %d event(s) to the sender failed.", len(self.events))


class _Memory:
    def __init__(self) -> None:
        self.hooks: Any = None  # the connection's run_on_commit list, when last checked
        self.by_key: dict[str, list[Published]] = {}


_local = threading.local()


def _memory(alias: str) -> _Memory:
    memories: dict[str, _Memory] | None = getattr(_local, "memories", None)
    if memories is None:
        memories = _local.memories = {}
    memory = memories.get(alias)
    if memory is None:
        memory = memories[alias] = _Memory()
    return memory


def _forget(published: Published) -> None:
    if published.key is None:
        return
    stack = _memory(published.alias).by_key.get(published.key)
    if stack and published in stack:
        stack.remove(published)
        if not stack:
            del _memory(published.alias).by_key[published.key]


def _checked(alias: str) -> _Memory:
    """The alias's memory with everything rolled back (or committed) dropped."""
    connection = connections[alias]
    memory = _memory(alias)
    hooks = connection.run_on_commit
    if memory.hooks is not hooks:
        memory.hooks = hooks
        if not memory.by_key:
            return memory
        alive = {id(func) for _, func, *_ in hooks}
        for key in list(memory.by_key):
            stack = [p for p in memory.by_key[key] if id(p) in alive]
            if stack:
                memory.by_key[key] = stack
            else:
                del memory.by_key[key]
    return memory


def live(alias: str, key: str) -> Published | None:
    """The latest publish under ``key`` in the open transaction on ``alias`` that
    is still to be committed; None outside a transaction."""
    if not connections[alias].in_atomic_block:
        return None
    stack = _checked(alias).by_key.get(key)
    return stack[-1] if stack else None


def open_savepoints(alias: str) -> frozenset[str | None]:
    return frozenset(connections[alias].savepoint_ids)


def survives_with(earlier: Published, alias: str) -> bool:
    """Whether a publish made now is rolled back whenever ``earlier`` is (and so may
    cancel it): true unless a savepoint opened since ``earlier`` is still open."""
    return open_savepoints(alias) <= earlier.savepoints


def register(published: Published) -> None:
    """Call ``published`` after the transaction on its alias commits (at once when
    none is open), and remember it under its key until then."""
    alias = published.alias
    if published.key is not None and connections[alias].in_atomic_block:
        memory = _checked(alias)
        memory.by_key.setdefault(published.key, []).append(published)
    transaction.on_commit(published, using=alias, robust=True)
