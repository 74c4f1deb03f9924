"""A small local TCP proxy for fault tests: it forwards to a real server (soketi)
and can hold every answer back for ``delay`` seconds, so that the server looks
slow to whoever talks through it.

Requests (client -> server) are forwarded at once; each chunk of an answer
(server -> client) waits ``delay`` seconds first. Setting ``delay`` to 0 releases
the answers already waiting, at once: a "slow" phase ends without a sleep.
Loopback only, a free port of its own; threads only (no event loop to share).
"""

from __future__ import annotations

import contextlib
import socket
import threading


class DelayingProxy:
    """``DelayingProxy(port).start()``; ``proxy.port`` is where clients connect."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = int(self._listener.getsockname()[1])
        self._delay = 0.0
        self._fast = threading.Event()  # set while delay == 0: waiting answers go now
        self._fast.set()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()
        self.connections = 0
        #: Answer chunks that were held back (a proof that the delay applied).
        self.delayed_chunks = 0

    @property
    def delay(self) -> float:
        return self._delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        self._delay = float(seconds)
        if seconds > 0:
            self._fast.clear()
        else:
            self._fast.set()

    def start(self) -> DelayingProxy:
        self._spawn(self._accept)
        return self

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()  # upstream down: the client sees a closed connection
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets += [client, server]
                self.connections += 1
            self._spawn(self._pipe, client, server, False)
            self._spawn(self._pipe, server, client, True)

    def _pipe(self, source: socket.socket, target: socket.socket, answers: bool) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                if answers and self._delay > 0:
                    self.delayed_chunks += 1
                    self._fast.wait(self._delay)  # released early when made fast
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed.set()
        self._fast.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (Linux)
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
        for thread in threads:
            thread.join(5)

    def __enter__(self) -> DelayingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
