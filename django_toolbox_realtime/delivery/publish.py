"""``publish()``: hand validated events to the configured ``DELIVERY`` mode, to be
sent after the current transaction commits.

* ``"outbox"`` (default): one row per (event, channel) is written now, in the
  caller's transaction, so the event exists exactly when the change it reports
  does. After commit the sender makes a first try (see ``sender``); a row that is
  not sent then is retried by ``manage.py realtime_deliver``.
* ``"immediate"``: nothing is written; after commit the sender sends the events
  from memory. A failure is logged and the event is lost (never retried).
* ``"celery"``: rows as in outbox mode; after commit the channels go to the
  dispatcher ``contrib.celery`` installs (see ``dispatch``): a Celery task sends.

Coalescing: within one transaction, a later publish with the same ``key``
replaces the earlier one (which is then never sent; its rows are deleted) and
keeps its event ids; ``publish([], key=k)`` cancels it. When the later publish
could be rolled back without the earlier one (it is inside a savepoint the
earlier one is not) in immediate mode, both are sent: an event is never lost to
coalescing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

from django.utils import timezone

from ..backends import OutgoingEvent
from ..conf import SETTINGS_NAME, realtime_settings
from ..exceptions import RealtimeValidationError
from ..validation import (
    ENCRYPTED_PREFIX,
    MAX_CHANNELS_PER_TRIGGER,
    validate_event_name,
    validate_socket_id,
    validate_trigger_channel,
)
from . import dispatch, envelope, options, outbox, pending, sender
from .api import new_event_id

logger = logging.getLogger("django_toolbox_realtime.delivery")

__all__ = ["accept", "pending_tag", "publish"]


def accept(event: OutgoingEvent) -> OutgoingEvent:
    """``event`` checked against every protocol rule, with an id (a new one if it
    has none). Raises RealtimeValidationError."""
    if not isinstance(event, OutgoingEvent):
        raise RealtimeValidationError(
            f"publish() takes OutgoingEvent objects, got {type(event).__name__}.",
            rule="event_type",
        )
    event_id = envelope.validate_event_id(event.id) if event.id else new_event_id()
    channels = tuple(event.channels)
    if not channels:
        raise RealtimeValidationError("No channel given.", rule="channel_empty")
    if len(channels) > MAX_CHANNELS_PER_TRIGGER:
        raise RealtimeValidationError(
            f"An event goes to at most {MAX_CHANNELS_PER_TRIGGER} channels "
            f"(got {len(channels)}): publish several events.",
            rule="channel_count",
            value=len(channels),
            limit=MAX_CHANNELS_PER_TRIGGER,
        )
    for channel in channels:
        validate_trigger_channel(channel)
    if len(set(channels)) != len(channels):
        raise RealtimeValidationError("The same channel is listed twice.", rule="channel_duplicate")
    if len(channels) > 1 and any(c.startswith(ENCRYPTED_PREFIX) for c in channels):
        raise RealtimeValidationError(
            "An encrypted channel must be published on its own.",
            rule="encrypted_multi_channel",
            value=len(channels),
            limit=1,
        )
    if event.socket_id is not None:
        validate_socket_id(event.socket_id)
    if not isinstance(event.data, str):
        raise RealtimeValidationError(
            "OutgoingEvent.data must be the encoded JSON string (validation.encode_payload).",
            rule="payload_type",
        )
    envelope.check(event.data, event_id, channels)
    return dataclasses.replace(
        event, id=event_id, name=validate_event_name(event.name), channels=channels
    )


def publish(
    events: Iterable[OutgoingEvent],
    *,
    using: str | None = None,
    source: str = "",
    key: str | None = None,
    tag: str = "",
) -> list[OutgoingEvent]:
    """Hand validated events to the configured ``DELIVERY`` mode: delivered only
    after the current transaction on ``using`` (default: the outbox's database)
    commits, or at once when no transaction is open. Never raises for a server
    problem; raises RealtimeValidationError for an event that breaks a protocol
    rule (before anything is written). ``source`` (e.g. "classroom.Submission#5
    created") is shown in the admin. Returns the events as accepted (each with its
    id).

    ``key``: within one transaction, a later publish with the same key REPLACES
    the events of the earlier one (outbox mode: their rows are deleted in the same
    transaction; the new events keep the earlier event ids, by position), and
    ``publish([], key=k)`` cancels them. ``tag`` is remembered with the key (the
    first one stays: see :func:`pending_tag`).
    """
    accepted = [accept(event) for event in events]
    if not accepted and key is None:
        return accepted
    alias = using or outbox.outbox_database()
    if not realtime_settings.ENABLED:
        if accepted:
            logger.info(
                "%s['ENABLED'] is False: %d event(s) not sent.", SETTINGS_NAME, len(accepted)
            )
        return accepted
    mode = options.mode()
    earlier = pending.live(alias, key) if key is not None else None
    if earlier is not None:
        tag = earlier.tag
        accepted = _replace(earlier, accepted, alias, mode)
    row_ids: list[int] = []
    if mode in options.WITH_ROWS and accepted:
        row_ids = outbox.insert_rows(alias, accepted, source, timezone.now())
    pending.register(
        pending.Published(
            alias=alias,
            key=key,
            tag=tag,
            events=accepted,
            row_ids=row_ids,
            savepoints=pending.open_savepoints(alias),
            then=_AFTER_COMMIT[mode],
        )
    )
    return accepted


def _replace(
    earlier: pending.Published, accepted: list[OutgoingEvent], alias: str, mode: str
) -> list[OutgoingEvent]:
    """Cancel ``earlier`` where that is certain to be right, and give ``accepted``
    its event ids; otherwise leave both to be sent (new ids stay)."""
    if mode in options.WITH_ROWS:
        # The rows are deleted in this transaction: a rollback of it (or of a
        # savepoint around this call) brings them back with the memory.
        if not earlier.row_ids or len(earlier.row_ids) != earlier.row_count:
            return accepted  # cannot tell which rows are the earlier event's
        if outbox.delete_pending(alias, earlier.row_ids) != len(earlier.row_ids):
            logger.warning("Coalescing found fewer rows than written: both events are sent.")
            return accepted
    elif pending.survives_with(earlier, alias):
        earlier.cancelled = True
    else:
        return accepted
    earlier_ids = [event.id for event in earlier.events]
    return [
        dataclasses.replace(event, id=earlier_ids[i]) if i < len(earlier_ids) else event
        for i, event in enumerate(accepted)
    ]


def pending_tag(key: str, *, using: str | None = None) -> str | None:
    """The tag of the events published under ``key`` in the current, not yet
    committed transaction; None when there are none (or outside a transaction)."""
    found = pending.live(using or outbox.outbox_database(), key)
    return found.tag if found is not None and found.events else None


def _after_commit_outbox(published: pending.Published) -> None:
    channels = {channel for event in published.events for channel in event.channels}
    sender.first_attempt(published.alias, channels)


def _after_commit_immediate(published: pending.Published) -> None:
    sender.send_after_commit(published.alias, published.events)


def _after_commit_celery(published: pending.Published) -> None:
    channels = {channel for event in published.events for channel in event.channels}
    dispatch.after_commit(published.alias, channels)


_AFTER_COMMIT = {
    options.OUTBOX: _after_commit_outbox,
    options.IMMEDIATE: _after_commit_immediate,
    options.CELERY: _after_commit_celery,
}
