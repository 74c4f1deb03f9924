"""Channel authorizers of the scenario (imported by django_toolbox_realtime on first use).

The admin-managed policy for ``presence-classroom-{id}`` requires the ``student`` role;
this authorizer narrows it to the classroom's own people. A classroom that does not
exist and one the user is not in are refused alike.
"""

from __future__ import annotations

from typing import Any

from django_toolbox_realtime import authorizers as realtime
from django_toolbox_realtime import has_role

from .models import Classroom

# Largest id a bigint primary key can hold has 19 digits.
_MAX_ID_DIGITS = 18


@realtime.channel("presence-classroom-{id}")
def classroom_presence(user: Any, id: str) -> bool | dict[str, Any]:  # noqa: A002
    """Enrolled students, the classroom's teachers and admins; their presence
    ``user_info`` also says in which capacity they are there."""
    if not (id.isascii() and id.isdigit()) or len(id) > _MAX_ID_DIGITS or id != str(int(id)):
        return False  # one channel name per classroom: no "0101" alias of 101
    role = Classroom.role_of(int(id), user)
    if role is not None:
        return {"classroom_role": role}
    if has_role(user, "admin") and Classroom.objects.filter(pk=int(id)).exists():
        return {"classroom_role": "admin"}
    return False
