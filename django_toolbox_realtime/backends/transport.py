"""Send one HTTP request to the server's REST API over a kept-alive connection.

Built on the standard library's ``http.client``: ``requests`` costs 0.6-0.8 ms of
Python CPU per request (hooks, cookie jar, proxy and environment merging, urllib3
pools), and the outbox worker's threads share the GIL, so that cost was the
worker's limit. Here a request is a write and a read on a socket kept open.

* One connection per thread and per (scheme, host, port, timeout): a connection is
  never shared between threads, so no lock; ``reset()`` (settings reload) and a
  fork drop them all (a forked child must not talk on its parent's sockets).
* The timeout applies to the connect and to each read, as with ``requests``.
* HTTPS trusts certifi's bundle (``requests``' own trust), else the system's.
* A reused connection the server closed while idle fails before any status line
  is read; it is reopened and the request sent once more. A fresh connection that
  fails is a real failure: never retried. Any failure closes the connection, so
  one in an unknown state is never reused.

Proxies are not handled here: see :func:`proxied`.
"""

from __future__ import annotations

import functools
import http.client
import os
import ssl
import threading
import urllib.request
from typing import Any, NamedTuple

# What a reused connection raises when the server closed it while idle:
# RemoteDisconnected is the empty status line (it is a ConnectionResetError).
_CLOSED_WHILE_IDLE = (ConnectionResetError, BrokenPipeError)

_state = threading.local()
_generation = 0


class Target(NamedTuple):
    scheme: str
    host: str
    port: int
    timeout: float


class Response(NamedTuple):
    status: int
    body: bytes


class _Response(http.client.HTTPResponse):
    """Marks (per thread) that a status line was read: after that, a failure means
    the server took the request, and sending it again could deliver it twice."""

    def _read_status(self) -> Any:
        status = super()._read_status()  # type: ignore[misc]
        _state.status_read = True
        return status


class _HTTPConnection(http.client.HTTPConnection):
    response_class = _Response


class _HTTPSConnection(http.client.HTTPSConnection):
    response_class = _Response


def reset() -> None:
    """Drop every thread's connections (each thread closes its own at its next
    request: another thread's socket is not ours to touch)."""
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=reset)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    try:
        import certifi
    except ImportError:  # requests installs it; without it, the system's trust
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class _ThreadState:
    """One thread's connections and proxy answers, for one settings generation."""

    def __init__(self) -> None:
        self.generation = _generation
        self.connections: dict[Target, http.client.HTTPConnection] = {}
        self.proxied: dict[tuple[str, str], bool] = {}


def _thread() -> _ThreadState:
    """This thread's state, emptied (its connections closed) after a reset."""
    state: _ThreadState | None = getattr(_state, "thread", None)
    if state is None or state.generation != _generation:
        if state is not None:
            for conn in state.connections.values():
                conn.close()
        state = _state.thread = _ThreadState()
    return state


def proxied(scheme: str, host: str) -> bool:
    """True when the environment names a proxy for ``scheme`` that ``host`` does not
    bypass (HTTP(S)_PROXY, NO_PROXY): ``http.client`` ignores those variables, so
    such requests must go another way. Read once per thread and settings load:
    reading the environment costs ~35 µs, a tenth of a whole request here."""
    answers = _thread().proxied
    answer = answers.get((scheme, host))
    if answer is None:
        proxy = urllib.request.getproxies().get(scheme)
        answer = answers[scheme, host] = bool(proxy) and not urllib.request.proxy_bypass(host)
    return answer


def _connection(target: Target) -> http.client.HTTPConnection:
    connections = _thread().connections
    conn = connections.get(target)
    if conn is None:
        if target.scheme == "https":
            conn = _HTTPSConnection(
                target.host, target.port, timeout=target.timeout, context=_ssl_context()
            )
        else:
            conn = _HTTPConnection(target.host, target.port, timeout=target.timeout)
        connections[target] = conn
    return conn


def send(target: Target, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
    """Send one request (``path`` with its query string); the whole answer is read.

    Raises ``TimeoutError`` when the server does not answer within the timeout, or
    another ``OSError`` / ``http.client.HTTPException`` when it cannot be reached."""
    conn = _connection(target)
    reused = conn.sock is not None  # http.client connects lazily, and drops closed ones
    try:
        return _exchange(conn, method, path, headers, body)
    except _CLOSED_WHILE_IDLE:
        conn.close()
        if not reused or _state.status_read:
            raise
    except BaseException:
        conn.close()
        raise
    try:  # once, on a new connection
        return _exchange(conn, method, path, headers, body)
    except BaseException:
        conn.close()
        raise


def _exchange(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
) -> Response:
    _state.status_read = False
    # No body on a GET, as requests sends it (no "Content-Length: 0").
    conn.request(method, path, body or None, headers)
    response = conn.getresponse()
    # Read it all, or the connection cannot carry the next request. On
    # "Connection: close" (or an HTTP/1.0 answer) http.client closes the
    # connection itself once the body is read: the next request opens a new one.
    return Response(response.status, response.read())
