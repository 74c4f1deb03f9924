"""``python -m benchmarks.load [--quick]`` (``make load``): see the package docstring.

Exit status 0 only when every check passed: no error, no wrong answer, every
outbox event delivered, the stored presence equal to soketi's and every webhook
body applied once. Figures (p50/p99) are printed, never judged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import servers  # noqa: E402

FULL = {
    "auths": 20_000,
    "clients": 100,
    "outbox": 10_000,
    "senders": 50,
    "channels": 20,
    "rounds": 20,
}
QUICK = {"auths": 2_000, "clients": 20, "outbox": 1_000, "senders": 10, "channels": 5, "rounds": 6}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load")
    parser.add_argument("--quick", action="store_true", help="CI's smaller counts (< 2 minutes)")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("LOAD_PG_URL", servers.PG_URL),
        help="the load test's own PostgreSQL database: DROPPED and created anew "
        f"(default: $LOAD_PG_URL or {servers.PG_URL})",
    )
    parser.add_argument("--deadline", type=float, help="seconds for the whole run")
    return parser


def _prepare(stack: servers.Stack) -> tuple[list[Any], dict[str, int]]:
    """Tables, the demo's users and policies, a DRF token per user (this process
    has the example project's settings of ``stack``)."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from benchmarks.load.auth_load import Identity

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("seed_demo", verbosity=0)
    users = {
        u.username: u
        for u in User.objects.filter(username__in=["student", "student2", "teacher", "admin"])
    }
    identities: list[Identity] = [Identity("", None, None)]
    for name, user in sorted(users.items()):
        token = Token.objects.get_or_create(user=user)[0].key
        identities += [Identity(name, user.pk, token), Identity(name, user.pk, None)]
    return identities, {name: u.pk for name, u in users.items()}


def _worker(stack: servers.Stack, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        # The loop, not --once: the worker leaves rows younger than its grace period
        # (FIRST_ATTEMPT_GRACE_SECONDS) alone, so --once could stop before they are due.
        [sys.executable, "manage.py", "realtime_deliver", f"--max-seconds={seconds}"],
        cwd=ROOT,
        env=stack.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _auth_and_outbox(stack: servers.Stack, counts: dict[str, int], budget: float) -> list[str]:
    from benchmarks.load import auth_load, outbox_load

    identities, user_pks = _prepare(stack)
    started = time.perf_counter()
    outbox_load.enqueue(counts["outbox"])
    print(f"outbox: {counts['outbox']} events written in {time.perf_counter() - started:.1f} s")
    failures: list[str] = []
    with outbox_load.Counter(stack.soketi.ws_url) as counter:
        worker = _worker(stack, budget)
        started = time.perf_counter()
        creds = (stack.key, stack.secret)
        tally = asyncio.run(
            asyncio.wait_for(
                auth_load.run(
                    stack.url, identities, counts["clients"], counts["auths"], creds, user_pks
                ),
                budget,
            )
        )
        took = time.perf_counter() - started
        print(f"auth: {tally.summary()}; {len(tally.latencies_ms) / took:.0f} req/s")
        print(f"auth: {counts['clients']} clients, gunicorn {stack.workers} workers")
        for line in (tally.errors + tally.wrong)[:10]:
            print(f"  {line}")
        if tally.errors or tally.wrong or len(tally.latencies_ms) != counts["auths"]:
            failures.append("auth: errors, wrong answers or missing answers")
        during = counter.wait_for(0, timeout=0)  # arrived while the auth load ran
        arrived = counter.wait_for(counts["outbox"], timeout=budget)
        drained = time.perf_counter() - started
        worker.send_signal(signal.SIGTERM)  # it finishes its round and exits 0
        try:
            output, _ = worker.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
            failures.append("outbox: the worker did not stop when asked")
    states = outbox_load.states()
    print(
        f"outbox: {arrived} of {counts['outbox']} events arrived on soketi "
        f"({counter.duplicates} twice; {during} while the auth load ran), rows left {states} "
        f"(sent rows beyond the history bounds are pruned); "
        f"all in {drained:.1f} s from the start (worker exit {worker.returncode})"
    )
    if arrived != counts["outbox"] or set(states) - {"delivered"}:
        failures.append("outbox: not every event delivered")
        print(output[-2000:])
    return failures


def _present_sockets(stack: servers.Stack, members: set[tuple[str, str]]) -> list[Any]:
    """A real subscription on soketi for every member in ``members``."""
    from tests.helpers import channel_auth
    from tests.pusher_ws import PusherWSClient

    sockets = []
    for channel, user in sorted(members):
        client = PusherWSClient(stack.soketi.ws_url, timeout=20).connect()
        sockets.append(client)
        data = json.dumps({"user_id": user, "user_info": {}})
        auth = channel_auth(stack.key, stack.secret, client.socket_id or "", channel, data)
        reply = client.subscribe(channel, auth=auth, channel_data=data)
        if reply is None or reply["event"] != "pusher_internal:subscription_succeeded":
            raise RuntimeError(f"{user} cannot join {channel} on soketi: {reply}")
    return sockets


def _webhooks(stack: servers.Stack, counts: dict[str, int], budget: float) -> list[str]:
    import pusher

    from benchmarks.load import webhook_load
    from django_toolbox_realtime.clock import now_ms
    from django_toolbox_realtime.models import PresenceMember, WebhookDelivery

    p = webhook_load.plan(
        counts["channels"], users=8, present=3, rounds=counts["rounds"], t0=now_ms() - 60_000
    )
    sockets = _present_sockets(stack, p.present)
    try:
        started = time.perf_counter()
        out = asyncio.run(
            asyncio.wait_for(
                webhook_load.send(stack.url, stack.key, stack.secret, p, counts["senders"]),
                budget,
            )
        )
        took = time.perf_counter() - started
        client = pusher.Pusher(
            app_id=servers.APP_ID,
            key=stack.key,
            secret=stack.secret,
            host="127.0.0.1",
            port=stack.soketi.port,
            ssl=False,
        )
        on_server = {
            (channel, u["id"])
            for channel in sorted({c for c, _ in p.present})
            for u in client.users_info(channel)["users"]
        }
    finally:
        for socket in sockets:
            socket.close()
    stored = set(
        PresenceMember.objects.filter(
            channel__startswith=webhook_load.PREFIX, left_at__isnull=True
        ).values_list("channel", "user_id")
    )
    logged = WebhookDelivery.objects.filter(outcome=WebhookDelivery.Outcome.ACCEPTED).count()
    found = webhook_load.problems(p, out, stored, on_server)
    if logged != len(p.bodies):
        found.append(f"{logged} accepted deliveries logged, {len(p.bodies)} distinct bodies")
    print(
        f"webhooks: {counts['senders']} senders posted {len(p.posts)} batches "
        f"({len(p.bodies)} distinct, {p.events} events) in {took:.1f} s "
        f"({len(p.posts) / took:.0f} batches/s): {len(out.accepted)} applied once, "
        f"{out.duplicates} answered duplicate, {out.stale} events stale (older than the state); "
        f"stored presence {len(stored)} members, soketi {len(on_server)}, "
        f"{'equal' if stored == on_server else 'DIFFERENT'}"
    )
    for line in found[:10]:
        print(f"  {line}")
    return ["webhooks: " + f for f in found]


def main() -> int:
    args = _parser().parse_args()
    counts = QUICK if args.quick else FULL
    deadline = args.deadline or (110.0 if args.quick else 540.0)
    started = time.perf_counter()
    servers.recreate_database(args.pg_url)
    stack = servers.Stack(args.pg_url)
    os.environ.update(stack.env())
    import django

    django.setup()
    failures: list[str] = []
    with stack:
        print(
            f"load: example project under gunicorn on {stack.url}, soketi on "
            f"{stack.soketi.port}, PostgreSQL {args.pg_url.rsplit('/', 1)[-1]}"
        )
        failures += _auth_and_outbox(stack, counts, budget=deadline * 0.6)
        left = deadline - (time.perf_counter() - started)
        failures += _webhooks(stack, counts, budget=max(10.0, left))
    took = time.perf_counter() - started
    print(f"load: {'PASSED' if not failures else 'FAILED'} in {took:.0f} s")
    for failure in failures:
        print(f"  FAILED {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
