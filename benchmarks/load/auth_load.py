"""Channel authorization under load: concurrent clients (session or Bearer, or
anonymous), each posting pusher-js requests for channels it may or may not join.

Every answer is checked: a grant must be a 200 whose signature is right for this
socket and channel (and, for presence, whose ``channel_data`` names the user), a
refusal must be a 403. Anything else is an error; a grant where a refusal was
due, or the reverse, is a wrong answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import statistics
import time
from dataclasses import dataclass, field

import aiohttp
from yarl import URL

AUTH_PATH = "/api/v1/pusher/auth"
PASSWORD = "demo1234"  # seed_demo's
CLASSROOM = "presence-classroom-101"
ROLE_CHANNELS = ("private-student", "private-teacher", "private-admin", CLASSROOM)
#: Who may join what (seed_demo's policies: student+, teacher+, admin; the classroom
#: authorizer: enrolled students, its teacher, admins). A user's own
#: ``private-user-<id>`` is allowed, another user's is not.
ALLOWED = {
    "student": {"private-student", CLASSROOM},
    "student2": {"private-student", CLASSROOM},
    "teacher": {"private-student", "private-teacher", CLASSROOM},
    "admin": set(ROLE_CHANNELS),
    "": set(),  # anonymous
}


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    allowed: int = 0
    denied: int = 0
    errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    def summary(self) -> str:
        done = len(self.latencies_ms)
        return (
            f"{done} authorizations ({self.allowed} allowed, {self.denied} denied): "
            f"{len(self.errors)} errors, {len(self.wrong)} wrong answers; "
            f"p50 {self.percentile(0.50):.1f} ms, p99 {self.percentile(0.99):.1f} ms, "
            f"mean {statistics.fmean(self.latencies_ms) if done else 0:.1f} ms"
        )


@dataclass(frozen=True)
class Identity:
    username: str  # "" for anonymous
    pk: int | None
    token: str | None  # Bearer; None: session (or anonymous)


def expected(identity: Identity, channel: str) -> bool:
    """Whether ``identity`` may join ``channel``."""
    if channel.startswith("private-user-"):
        return identity.pk is not None and channel == f"private-user-{identity.pk}"
    return channel in ALLOWED[identity.username]


def check_grant(key: str, secret: str, socket_id: str, channel: str, body: dict, pk: int) -> str:
    """'' when ``body`` is a right grant, else what is wrong with it."""
    parts = [socket_id, channel]
    if channel.startswith("presence-"):
        channel_data = body.get("channel_data", "")
        try:
            user_id = json.loads(channel_data)["user_id"]
        except (ValueError, KeyError, TypeError):
            return "presence grant without channel_data"
        if user_id != str(pk):
            return f"presence user_id {user_id!r} for user {pk}"
        parts.append(channel_data)
    digest = hmac.new(secret.encode(), ":".join(parts).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(body.get("auth", ""), f"{key}:{digest}"):
        return "wrong signature"
    return ""


async def _login(session: aiohttp.ClientSession, base: str, username: str) -> str:
    """Django's login form; returns the CSRF token for later POSTs."""
    async with session.get(f"{base}/accounts/login/") as resp:
        await resp.read()
    csrf = session.cookie_jar.filter_cookies(URL(base)).get("csrftoken")
    if csrf is None:
        raise RuntimeError("no csrftoken cookie from the login page")
    form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf.value}
    async with session.post(f"{base}/accounts/login/", data=form, allow_redirects=False) as resp:
        if resp.status != 302:
            raise RuntimeError(f"login of {username} answered {resp.status}")
    return session.cookie_jar.filter_cookies(URL(base))["csrftoken"].value


async def _client(
    base: str,
    identity: Identity,
    channels: list[str],
    count: int,
    creds: tuple[str, str],
    user_pks: dict[str, int],
    tally: Tally,
    seed: int,
) -> None:
    rng = random.Random(seed)
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1 (an IP address)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout) as session:
        headers = {}
        if identity.token:
            headers["Authorization"] = f"Bearer {identity.token}"
        elif identity.username:
            headers["X-CSRFToken"] = await _login(session, base, identity.username)
        for _ in range(count):
            channel = rng.choice(channels)
            socket_id = f"{rng.randrange(1, 10**9)}.{rng.randrange(1, 10**9)}"
            form = {"socket_id": socket_id, "channel_name": channel}
            started = time.perf_counter()
            try:
                async with session.post(f"{base}{AUTH_PATH}", data=form, headers=headers) as r:
                    status, raw = r.status, await r.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                tally.errors.append(f"{channel}: {type(exc).__name__} {exc}")
                continue
            tally.latencies_ms.append((time.perf_counter() - started) * 1000)
            _judge(identity, channel, socket_id, status, raw, creds, user_pks, tally)


def _judge(
    identity: Identity,
    channel: str,
    socket_id: str,
    status: int,
    raw: bytes,
    creds: tuple[str, str],
    user_pks: dict[str, int],
    tally: Tally,
) -> None:
    who = identity.username or "anonymous"
    want = expected(identity, channel)
    if status == 200:
        tally.allowed += 1
        if not want:
            tally.wrong.append(f"{who} was granted {channel}")
            return
        problem = check_grant(*creds, socket_id, channel, json.loads(raw), identity.pk or 0)
        if problem:
            tally.wrong.append(f"{who} on {channel}: {problem}")
    elif status == 403:
        tally.denied += 1
        if want:
            tally.wrong.append(f"{who} was refused {channel}")
    else:
        tally.errors.append(f"{who} on {channel}: HTTP {status} {raw[:120]!r}")


async def run(
    base: str,
    identities: list[Identity],
    clients: int,
    total: int,
    creds: tuple[str, str],
    user_pks: dict[str, int],
) -> Tally:
    """``clients`` concurrent clients (identities taken in turn) performing ``total``
    authorizations between them."""
    channels = [*ROLE_CHANNELS, *(f"private-user-{pk}" for pk in user_pks.values())]
    tally = Tally()
    share, extra = divmod(total, clients)
    tasks = [
        _client(
            base,
            identities[i % len(identities)],
            channels,
            share + (i < extra),
            creds,
            user_pks,
            tally,
            seed=i,
        )
        for i in range(clients)
    ]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    tally.errors += [f"client failed: {r!r}" for r in results if isinstance(r, BaseException)]
    return tally
