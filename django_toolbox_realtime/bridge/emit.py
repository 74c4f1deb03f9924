"""From a save or delete to events handed to ``delivery.publish``.

The bridge publishes inside the caller's transaction; ``publish`` delivers after
that transaction commits and drops what a rollback (or a rolled-back savepoint)
undid. Coalescing: every event of one object goes under one ``key``, so a later
save in the same transaction *replaces* the pending events (the final state),
and the first action is remembered as the publish ``tag``:

=================  ==========  ===================
pending (tag)      this save   sent at commit
=================  ==========  ===================
created            updated     created, final state
created            deleted     nothing
updated            deleted     deleted
=================  ==========  ===================
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..backends import OutgoingEvent
from ..delivery.api import new_event_id, user_channel
from ..delivery.publish import pending_tag, publish
from ..delivery.socket_context import current_socket_id, record_excluded
from ..exceptions import RealtimeValidationError
from ..validation import (
    ENCRYPTED_PREFIX,
    MAX_CHANNELS_PER_TRIGGER,
    chunked,
    encode_json_payload,
    to_json,
    validate_event_name,
    validate_trigger_channel,
)
from . import payload
from .options import CREATED, DELETED, ERROR, UPDATED, ModelBroadcast

logger = logging.getLogger("django_toolbox_realtime.bridge")

#: Where the events of the last save or delete of an instance are kept.
EVENTS_ATTR = "_toolbox_realtime_events"


@dataclass(frozen=True)
class Plan:
    """What one save or delete hands to publish: ``events`` (empty with a key:
    cancel what is pending), under ``key`` with ``tag``."""

    events: list[OutgoingEvent]
    key: str | None
    tag: str
    source: str


def key_for(broadcast: ModelBroadcast, instance: Any) -> str:
    return f"bridge:{broadcast.label}:{instance.pk}"


def coalesced_action(pending: str | None, action: str) -> str | None:
    """The action to send when ``pending`` was the first one in this transaction;
    None: nothing (created and deleted again)."""
    if pending is None:
        return action
    if action == DELETED:
        return None if pending == CREATED else DELETED
    return CREATED if pending == CREATED else UPDATED


def plan(
    broadcast: ModelBroadcast, instance: Any, action: str, using: str, changed: bool = True
) -> Plan | None:
    """What to publish for ``action`` of ``instance`` (None: nothing at all)."""
    key = key_for(broadcast, instance) if broadcast.should_coalesce() else None
    pending = pending_tag(key, using=using) if key is not None else None
    if pending is None and not changed:
        return None  # only_when_changed: nothing pending to refresh, nothing to send
    send = coalesced_action(pending, action)
    source = f"{broadcast.model._meta.label}#{instance.pk} {send or action}"  # for the admin
    if send is None or not broadcast.condition(instance, send):
        return Plan([], key, pending, source) if pending is not None else None
    events = build_events(broadcast, instance, send)
    if not events and pending is None:
        return None
    return Plan(events, key, pending or action, source)


def run(found: Plan | None, instance: Any, using: str) -> list[OutgoingEvent]:
    """Publish ``found``; remember what was handed over on the instance."""
    sent: list[OutgoingEvent] = []
    if found is not None:
        sent = publish(found.events, using=using, source=found.source, key=found.key, tag=found.tag)
    for event in sent:  # the ids as published (coalescing keeps the earlier ones)
        record_excluded(event.socket_id, [event.id])
    instance.__dict__[EVENTS_ATTR] = list(sent)
    return sent


def published_events(instance: Any) -> list[OutgoingEvent]:
    """The events the bridge handed to delivery for the last save or delete of
    ``instance`` in this process (``[]``: none)."""
    return list(instance.__dict__.get(EVENTS_ATTR, ()))


def build_events(broadcast: ModelBroadcast, instance: Any, action: str) -> list[OutgoingEvent]:
    """The events of ``action``: on the channels (excluding the sender's socket),
    then one per ``to_user`` user (reaching all their connections)."""
    events: list[OutgoingEvent] = []
    # Unless a subclass makes it per channel, the payload (a serializer's run) is
    # made once per save, for every channel and the to_user events alike.
    per_channel = type(broadcast).get_payload is not ModelBroadcast.get_payload
    shared: list[Any] = []

    def default_payload() -> Any:
        if not shared:
            shared.append(broadcast.get_payload(instance, action, None))
        return shared[0]

    name = broadcast.get_event_name(instance, action)
    if name is not None:
        validate_event_name(name)
        by_data: dict[str, list[str]] = {}
        channels = list(dict.fromkeys(broadcast.get_channels(instance, action)))
        for channel in channels:
            validate_trigger_channel(channel)
        if per_channel:
            for channel in channels:
                data = broadcast.get_payload(instance, action, channel)
                encoded = _encode(broadcast, instance, action, name, data)
                by_data.setdefault(encoded, []).append(channel)
        elif channels:
            by_data[_encode(broadcast, instance, action, name, default_payload())] = channels
        socket_id = current_socket_id()
        for data, on in by_data.items():
            events += _split(name, on, data, socket_id)
    user_name = broadcast.get_user_event_name(instance, action)
    users = broadcast.get_user_ids(instance, action) if user_name is not None else []
    if user_name is not None and users:
        validate_event_name(user_name)
        user_data = (
            default_payload()
            if not per_channel and _user_payload_is_default(broadcast)
            else broadcast.get_user_payload(instance, action)
        )
        data = _encode(broadcast, instance, action, user_name, user_data)
        events += [
            OutgoingEvent(new_event_id(), user_name, (user_channel(user),), data, None)
            for user in users
        ]
    return events


def _user_payload_is_default(broadcast: ModelBroadcast) -> bool:
    """Whether the ``to_user`` events carry the channels' payload (``get_user_payload``'s
    own default)."""
    return (
        type(broadcast).get_user_payload is ModelBroadcast.get_user_payload
        and broadcast.user_serializer is None
        and broadcast.user_fields is None
    )


def _split(name: str, channels: list[str], data: str, socket_id: str | None) -> list[OutgoingEvent]:
    """One event per 100 channels (one id), and one for each encrypted channel,
    which the protocol sends on its own."""
    plain = [c for c in channels if not c.startswith(ENCRYPTED_PREFIX)]
    event_id = new_event_id()
    events = [
        OutgoingEvent(event_id, name, tuple(chunk), data, socket_id)
        for chunk in chunked(plain, MAX_CHANNELS_PER_TRIGGER)
    ]
    events += [
        OutgoingEvent(new_event_id(), name, (channel,), data, socket_id)
        for channel in channels
        if channel.startswith(ENCRYPTED_PREFIX)
    ]
    return events


def _encode(broadcast: ModelBroadcast, instance: Any, action: str, event: str, data: Any) -> str:
    """``data`` as JSON within the budget; over it, the thin event or an error, as
    the registration's ``oversize`` says. Never dropped without a word."""
    encoded = encode_json_payload(
        data, what=f"{broadcast!r}: the {event!r} payload of {broadcast.label} {instance.pk}"
    )
    # A code point is at most 4 bytes of UTF-8: most payloads need no measuring.
    if len(encoded) * 4 <= payload.PAYLOAD_BUDGET:
        return encoded
    size = payload.utf8_size(encoded)
    if size <= payload.PAYLOAD_BUDGET:
        return encoded
    what = (
        f"the {event!r} payload of {broadcast.label} {instance.pk} is {size:,} bytes of "
        f"UTF-8 JSON, over the bridge's budget of {payload.PAYLOAD_BUDGET:,} (the "
        f"10,240-byte limit less room for the '_rt' envelope)"
    )
    if broadcast.oversize == ERROR:
        raise RealtimeValidationError(
            f"{broadcast!r}: {what}. Send fewer fields, or set oversize = 'thin'.",
            rule="payload_size",
            value=size,
            limit=payload.PAYLOAD_BUDGET,
        )
    logger.warning("%s: sent as a thin event (oversize = 'thin').", what[0].upper() + what[1:])
    return to_json(payload.thin_event(instance, action))
