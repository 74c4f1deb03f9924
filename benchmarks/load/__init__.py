"""The load test (``make load``; ``python -m benchmarks.load [--quick]``).

The example project under gunicorn (2 workers) on PostgreSQL and a real soketi,
all on 127.0.0.1, driven by small asyncio clients (aiohttp). Bounded in count and
time; it stops by itself and stops everything it started. Three parts:

* ``auth_load``: concurrent clients authorize channels (allowed and denied,
  session and Bearer); every answer is checked (status, and the signature of
  every grant); p50/p99 are printed. Meanwhile ``outbox_load`` has the outbox
  worker drain events into soketi, where a WebSocket client counts them.
* ``webhook_load``: concurrent senders post signed batches of joins and leaves
  of the same members, out of order and some twice, for members that really
  are (or are not) on soketi; the stored presence must equal soketi's.

It lives next to the benchmarks: like them it is run by a make target, needs the
test helpers (``tests/soketi.py``) and is not shipped in the package.
"""
