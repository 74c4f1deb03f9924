"""Live channel and presence state, kept from the server's webhooks.

Read it with :func:`active_channels`, :func:`online_users` and
:func:`connected_user_count` (health compares :func:`channel_times` with the
server). It is written by the webhook view (which runs :func:`apply_events` in
a write of its own, after the delivery record), by
``manage.py realtime_sync`` (:func:`reconcile`), and pruned by :func:`prune`.

Rules every writer follows (see docs/webhooks-and-health.md):

* Ordering: an event is applied to a row only if its ``time_ms`` is not older
  than the newest one already applied to that row (``last_time_ms``). Rows that
  record an end (vacated channel, member gone) are kept for the webhook tolerance
  window, so a late, older event cannot undo them.
* Signals follow state transitions: one ``member_added`` per join and one
  ``member_removed`` per leave, however webhooks are repeated, reordered or
  repaired. A ``channel_vacated`` also ends its members' presence.
* Grace period (``PRESENCE_GRACE_SECONDS``): a leave is first marked pending
  (``leaving_at`` / ``vacating_at``) and takes effect once the period has passed;
  a join within it cancels the leave and sends nothing.
* Concurrency: the rows a body touches are locked (``SELECT ... FOR UPDATE``) in
  key order inside one transaction; new rows are inserted skipping existing keys,
  and one that another process created meanwhile raises ``RowConflict`` (an
  IntegrityError): the transaction is rolled back and the body applied again
  (bounded retries: ``batch.run``, the one write mechanism).
* Bounded: anyone may invent public channel names, so a write creates a public
  channel's row only while fewer than ``STATE_MAX_PUBLIC_CHANNELS`` are stored
  (``Batch.admits``); channels that need a signature are not capped.

Modules: ``reading`` (queries), ``batch`` (one write: its rows, transaction and
retries), ``transitions`` (what each event does), ``rows`` and ``row_sql`` (the
rows and their SQL), ``maintenance`` (reconciliation, pruning), ``version`` (the
state's version, which readers that cache results compare). The state imports
nothing of webhooks, delivery or health.
"""

from .batch import Batch, Change, run, send_changes
from .maintenance import SyncReport, prune, reconcile
from .reading import (
    active_channels,
    channel_times,
    connected_user_count,
    online_users,
    present_members,
)
from .rows import RowConflict
from .transitions import apply_events

__all__ = [
    "Batch",
    "Change",
    "RowConflict",
    "SyncReport",
    "active_channels",
    "apply_events",
    "channel_times",
    "connected_user_count",
    "online_users",
    "present_members",
    "prune",
    "reconcile",
    "run",
    "send_changes",
]
