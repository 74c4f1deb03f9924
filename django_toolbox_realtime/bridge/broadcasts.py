"""Broadcasting model changes (the public module)::

    from django_toolbox_realtime import broadcasts

    @broadcasts.register(Submission)
    class SubmissionBroadcast(broadcasts.ModelBroadcast):
        channels = ["private-classroom-{classroom_id}"]
        to_user = "student"
        only_when_changed = ["score"]

Put registrations in an app's ``realtime.py`` (imported at start-up), or list
models in ``TOOLBOX_REALTIME["MODELS"]``. Events go out after the transaction
commits. See docs/broadcasting.md.
"""

from __future__ import annotations

from .bulk import broadcast_bulk
from .emit import published_events
from .options import ModelBroadcast, default_channel, default_event
from .registry import AlreadyRegistered, register, registered, unregister
from .switch import without_broadcasting

__all__ = [
    "AlreadyRegistered",
    "ModelBroadcast",
    "broadcast_bulk",
    "default_channel",
    "default_event",
    "published_events",
    "register",
    "registered",
    "unregister",
    "without_broadcasting",
]
