"""Webhooks under load: concurrent senders post signed batches of joins and leaves
of the same members, out of order and some twice.

The members are real: for every member whose last event is a join, a WebSocket
client really is subscribed to that presence channel on soketi. The batches are
what a server would have sent over the members' history (several joins and
leaves each, the last one deciding), shuffled. After the senders are done, the
presence stored by the app must equal what soketi holds (its HTTP API), and every
distinct body must have been applied exactly once (the rest answered as
duplicates).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
from dataclasses import dataclass, field
from typing import Any

import aiohttp

WEBHOOK_PATH = "/api/v1/pusher/webhook"
PREFIX = "presence-load-"
EVENTS_PER_BODY = 10


@dataclass
class Plan:
    bodies: list[bytes]  # distinct bodies
    posts: list[int]  # indexes into bodies, in the order they are handed out
    present: set[tuple[str, str]]  # the members whose last event is a join
    events: int  # events in the distinct bodies


def plan(channels: int, users: int, present: int, rounds: int, t0: int, seed: int = 7) -> Plan:
    """``rounds`` alternating joins and leaves for ``users`` members of each of
    ``channels`` channels, then a last join for ``present`` of them; bodies of up
    to 10 events from one round (so each member's events have increasing times),
    shuffled, every fifth one posted twice."""
    if rounds % 2:
        raise ValueError("rounds must be even (they end on a leave)")
    rng = random.Random(seed)
    members = [(f"{PREFIX}{c}", f"u{c}-{u}") for c in range(channels) for u in range(users)]
    keep = {m for m in members if int(m[1].rsplit("-", 1)[1]) < present}
    bodies: list[bytes] = []
    events = 0
    for r in range(rounds + 1):
        if r < rounds:
            name = "member_added" if r % 2 == 0 else "member_removed"
            todo = [(name, m) for m in members]
        else:
            todo = [("member_added", m) for m in sorted(keep)]
        rng.shuffle(todo)
        for i in range(0, len(todo), EVENTS_PER_BODY):
            chunk = todo[i : i + EVENTS_PER_BODY]
            payload = {
                "time_ms": t0 + r * 1000 + i // EVENTS_PER_BODY,
                "events": [{"name": n, "channel": c, "user_id": u} for n, (c, u) in chunk],
            }
            bodies.append(json.dumps(payload).encode())
            events += len(chunk)
    posts = list(range(len(bodies))) + list(range(0, len(bodies), 5))
    rng.shuffle(posts)
    return Plan(bodies, posts, keep, events)


@dataclass
class Outcome:
    accepted: dict[int, int] = field(default_factory=dict)  # body -> times applied
    duplicates: int = 0
    processed: int = 0
    stale: int = 0
    errors: list[str] = field(default_factory=list)


async def _sender(
    base: str, key: str, secret: str, p: Plan, queue: asyncio.Queue[int], out: Outcome
) -> None:
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            try:
                index = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            body = p.bodies[index]
            headers = {
                "Content-Type": "application/json",
                "X-Pusher-Key": key,
                "X-Pusher-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            }
            try:
                async with session.post(f"{base}{WEBHOOK_PATH}", data=body, headers=headers) as r:
                    status, raw = r.status, await r.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                out.errors.append(f"body {index}: {type(exc).__name__} {exc}")
                continue
            if status != 200:
                out.errors.append(f"body {index}: HTTP {status} {raw[:200]!r}")
                continue
            answer = json.loads(raw)
            if answer.get("duplicate"):
                out.duplicates += 1
            else:
                out.accepted[index] = out.accepted.get(index, 0) + 1
                out.processed += answer["processed"]
                out.stale += answer["stale"]


async def send(base: str, key: str, secret: str, p: Plan, senders: int) -> Outcome:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in p.posts:
        queue.put_nowait(index)
    out = Outcome()
    await asyncio.gather(*(_sender(base, key, secret, p, queue, out) for _ in range(senders)))
    return out


def problems(p: Plan, out: Outcome, stored: set[Any], on_server: set[Any]) -> list[str]:
    """What went wrong: errors, a body applied twice or never, a wrong final state."""
    found = list(out.errors)
    twice = [i for i, n in out.accepted.items() if n > 1]
    if twice:
        found.append(f"{len(twice)} bodies applied more than once")
    never = len(p.bodies) - len(out.accepted)
    if never and not out.errors:
        found.append(f"{never} bodies never applied")
    if out.duplicates != len(p.posts) - len(p.bodies):
        found.append(f"{out.duplicates} duplicates answered, {len(p.posts) - len(p.bodies)} sent")
    if out.processed + out.stale != p.events:
        found.append(f"processed + stale = {out.processed + out.stale}, events {p.events}")
    if on_server != p.present:
        found.append(f"soketi holds {len(on_server)} members, {len(p.present)} expected")
    if stored != on_server:
        found.append(
            f"stored presence differs from soketi's: missing {sorted(on_server - stored)[:5]}, "
            f"extra {sorted(stored - on_server)[:5]}"
        )
    return found
