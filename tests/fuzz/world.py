"""The fixed world every fuzz test runs in, and its oracle.

Users (one per role situation), policies, classrooms and one client per way of
signing in. The oracle of "may this user join this channel" is a table written by
hand for the channels the fuzzers favour (``KNOWN``, checked against the policy
engine in ``test_oracle.py``), and the policy engine's own answer (``decide``) for
any other name a fuzzer invents.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.authtoken.models import Token

from django_toolbox_realtime.authorization.policies import decide
from django_toolbox_realtime.models import ChannelPolicy
from example_project.classroom.models import Classroom

#: 32 bytes, base64: private-encrypted- channels can be signed in the fuzz tests.
MASTER_KEY = base64.b64encode(bytes(range(32))).decode()
#: Who signs in, in the fuzz tests. ``gone`` is inactive; ``ghost`` has a role the
#: hierarchy does not know; ``nobody`` has no role at all.
USERS = ("stu", "tea", "nobody", "ghost", "gone")
#: Ways of signing in: a user's Bearer token or session, or none that works.
LOGINS = (
    *(f"bearer:{name}" for name in USERS),
    "token:stu",
    "session:stu",
    "session:tea",
    "anonymous",
    "bad-token",
)
POLICIES = [
    ("private-admin", "admin", True),
    ("private-teacher", "teacher", True),
    ("private-student", "student", True),
    ("private-off", "student", False),  # deactivated: allows nothing
    ("private-wizards", "wizard", True),  # a role not in the hierarchy: allows nothing
    ("private-encrypted-notes", "student", True),
    ("presence-classroom-{id}", "student", True),  # narrowed by the example's authorizer
    ("private-user-{user}", "student", True),  # each user their own channel only
]
_SOCKET_ID = re.compile(r"\A[0-9]{1,20}\.[0-9]{1,20}\Z")
_CHANNEL = re.compile(r"\A[A-Za-z0-9_\-=@,.;]{1,164}\Z")


def valid_socket_id(value: Any) -> bool:
    """PROTOCOL.md's socket id, written here independently of the app."""
    return isinstance(value, str) and bool(_SOCKET_ID.match(value))


def valid_channel_name(value: Any) -> bool:
    """PROTOCOL.md's channel name (not ``#server-to-user-``), independently of the app."""
    return isinstance(value, str) and bool(_CHANNEL.match(value))


@dataclass
class World:
    users: dict[str, User]
    clients: dict[str, tuple[Client, dict[str, str]]]
    #: channel -> the usernames that may join it, written by hand.
    known: dict[str, frozenset[str]] = field(default_factory=dict)

    def user_of(self, login: str) -> User | None:
        """The user a login signs in as (None: anonymous, a bad token, inactive)."""
        name = login.partition(":")[2]
        return None if name in ("", "gone") else self.users[name]

    def may_join(self, login: str, channel: str) -> bool:
        """May the user of ``login`` subscribe to ``channel`` (auth would sign it)?"""
        user = self.user_of(login)
        if user is None:
            return False
        if channel in self.known:
            return user.username in self.known[channel]
        return bool(decide(user, channel))

    def may_read_history(self, login: str, channel: str) -> bool:
        """The history endpoint's rule: public for anyone, one's own
        ``#server-to-user-`` channel, else exactly what subscribing allows."""
        if valid_channel_name(channel) and not channel.startswith(("private-", "presence-")):
            return True
        user = self.user_of(login)
        if channel.startswith("#server-to-user-"):
            return user is not None and channel == f"#server-to-user-{user.pk}"
        return self.may_join(login, channel)


#: Channels the fuzzers favour -> the usernames that may join them, by hand. ``~stu~``
#: (and ``~tea~``, ``~nobody~``) stands for that user's id (see ``resolve``): ``~`` is
#: kept as is by form and JSON encoding, and no channel name may contain it.
KNOWN = {
    "private-admin": set(),
    "private-teacher": {"tea"},
    "private-student": {"stu", "tea"},  # teacher is above student
    "private-off": set(),
    "private-wizards": set(),
    "private-encrypted-notes": {"stu", "tea"},
    "private-nothing": set(),  # no policy
    "presence-classroom-101": {"stu"},  # enrolled; tea teaches 102 only
    "presence-classroom-102": {"tea"},
    "presence-classroom-999": set(),  # does not exist: refused like 102 for stu
    "presence-classroom-0101": set(),  # an alias of 101
    "presence-classroom-101-extra": set(),
    "presence-classroom-1.2": set(),
    "presence-classroom-": set(),
    "private-user-~stu~": {"stu"},
    "private-user-~tea~": {"tea"},
    "private-user-0~stu~": set(),  # a leading-zero alias
    "private-user-~nobody~": set(),  # no role: below the policy's student
    "xpresence-classroom-101": set(),  # public: never signed
    "public-dashboard": set(),
    "#server-to-user-~stu~": set(),
    "#server-to-user-~tea~": set(),
}


def resolve(template: str, users: dict[str, User]) -> str:
    """``template`` with ``~name~`` replaced by that user's id."""
    for name, user in users.items():
        template = template.replace(f"~{name}~", str(user.pk))
    return template


def resolve_bytes(body: bytes, users: dict[str, User]) -> bytes:
    """``resolve`` on a request body (form or JSON, UTF-8)."""
    for name, user in users.items():
        body = body.replace(f"~{name}~".encode(), str(user.pk).encode())
    return body


def build_world() -> World:
    """Create the users, policies and classrooms; sign the clients in."""
    roles = {"stu": "student", "tea": "teacher", "ghost": "wizard", "gone": "student"}
    users: dict[str, User] = {}
    for name in USERS:
        user = User.objects.create_user(name, password="pw-12345", first_name=name.title())
        if name in roles:
            user.groups.add(Group.objects.get_or_create(name=roles[name])[0])
        users[name] = user
    for channel, role, active in POLICIES:
        ChannelPolicy.objects.create(channel=channel, min_role=role, is_active=active)
    Classroom.objects.create(pk=101, name="101").students.add(users["stu"])
    Classroom.objects.create(pk=102, name="102").teachers.add(users["tea"])
    tokens = {name: Token.objects.create(user=user).key for name, user in users.items()}
    User.objects.filter(username="gone").update(is_active=False)
    clients: dict[str, tuple[Client, dict[str, str]]] = {}
    for login in LOGINS:
        kind, _, name = login.partition(":")
        if kind in ("bearer", "token"):
            keyword = "Bearer" if kind == "bearer" else "Token"
            clients[login] = (Client(), {"HTTP_AUTHORIZATION": f"{keyword} {tokens[name]}"})
        elif kind == "session":
            browser = Client(enforce_csrf_checks=True)
            browser.force_login(users[name])
            browser.get("/admin/login/")  # sets the CSRF cookie
            csrf = browser.cookies["csrftoken"].value
            clients[login] = (browser, {"HTTP_X_CSRFTOKEN": csrf})
        elif kind == "bad-token":
            clients[login] = (Client(), {"HTTP_AUTHORIZATION": "Bearer " + "0" * 40})
        else:
            clients[login] = (Client(enforce_csrf_checks=True), {})
    known = {resolve(t, users): frozenset(names) for t, names in KNOWN.items()}
    return World(users=users, clients=clients, known=known)
