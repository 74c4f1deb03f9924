"""The WebSocket probe (``delivery.socket_probe``) against the real soketi.

soketi's HTTP API ignores the key, so only a WebSocket connection to
``/app/<KEY>`` proves it: right key -> ``pusher:connection_established``;
wrong key -> ``pusher:error`` 4001, reported with the setting to fix.
"""

from __future__ import annotations

import select
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from django_toolbox_realtime.conf import SETTINGS_NAME
from django_toolbox_realtime.delivery import socket_probe
from django_toolbox_realtime.exceptions import RealtimeConfigurationError
from tests.soketi import free_port


@pytest.mark.integration
def test_right_key_is_accepted(soketi):
    result = socket_probe.probe(timeout=3)
    assert result.ok, result.message
    assert result.socket_id and result.socket_id.count(".") == 1
    assert result.latency_ms is not None and 0 <= result.latency_ms < 3000
    assert result.url == f"ws://127.0.0.1:{soketi.port}/app/{soketi.key}"


@pytest.mark.integration
def test_wrong_key_names_the_setting(soketi, settings):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "KEY": "not-the-key"}
    result = socket_probe.probe(timeout=3)
    assert not result.ok
    assert result.code == 4001
    assert f"{SETTINGS_NAME}['KEY']" in result.message
    assert "not-the-key" in result.message  # the key is public: say which one failed
    assert soketi.secret not in result.message


def test_nothing_listening_is_a_clear_message_within_the_timeout(settings):
    port = free_port()  # bound and released: nothing listens there now
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "HOST": "127.0.0.1", "PORT": port}
    started = time.monotonic()
    result = socket_probe.probe(timeout=2)
    assert time.monotonic() - started < 2.5
    assert not result.ok and result.code is None
    assert f"127.0.0.1:{port}" in result.message and "refused" in result.message
    assert f"{SETTINGS_NAME}['HOST']" in result.message


def test_a_server_that_never_answers_times_out_in_time(settings):
    """A listener that accepts the connection and then says nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        accepted: list[socket.socket] = []
        thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]))
        thread.start()
        settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "PORT": port}
        started = time.monotonic()
        result = socket_probe.probe(timeout=1)
        elapsed = time.monotonic() - started
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
    assert 0.9 <= elapsed < 1.5
    assert not result.ok and "within 1 s" in result.message


def test_a_server_that_is_not_a_websocket_server_says_so(live_server, settings):
    """Django's live server answers the upgrade request with a plain HTTP 404."""
    host, port = live_server.url.removeprefix("http://").split(":")
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "HOST": host, "PORT": int(port)}
    result = socket_probe.probe(timeout=3)
    assert not result.ok and "HTTP 404" in result.message
    assert "Pusher-protocol" in result.message


@pytest.mark.parametrize(
    "overrides, setting",
    [
        ({"KEY": ""}, "KEY"),
        ({"KEY": "has space"}, "KEY"),
        ({"KEY": "line\r\nX-Injected: 1"}, "KEY"),
        ({"HOST": "evil.example\r\nX: 1"}, "HOST"),
        ({"PORT": 70000}, "PORT"),
        ({"PORT": "http"}, "PORT"),
    ],
)
def test_bad_settings_are_refused_before_any_network_call(settings, overrides, setting):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, **overrides}
    with pytest.raises(RealtimeConfigurationError, match=rf"\['{setting}'\]"):
        socket_probe.probe(timeout=1)


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"HOST": "soketi.internal", "PORT": 6001, "SSL": False}, ("soketi.internal", 6001, False)),
        (
            {"HOST": "soketi.internal", "PORT": "6001", "SSL": False},
            ("soketi.internal", 6001, False),
        ),
        ({"HOST": "soketi.internal", "PORT": None, "SSL": True}, ("soketi.internal", 443, True)),
        ({"HOST": None, "CLUSTER": "eu", "SSL": True}, ("ws-eu.pusher.com", 443, True)),
        ({"HOST": None, "CLUSTER": "eu", "SSL": False}, ("ws-eu.pusher.com", 80, False)),
        ({"HOST": None, "CLUSTER": None, "SSL": True}, ("ws-mt1.pusher.com", 443, True)),
    ],
)
def test_the_websocket_endpoint_follows_host_or_cluster(settings, overrides, expected):
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, **overrides}
    assert socket_probe.websocket_endpoint() == expected


@pytest.mark.integration
def test_ssl_true_against_a_plain_server_names_the_ssl_setting(soketi, settings):
    """soketi's plain port never answers a TLS hello: the probe says so when time is up."""
    settings.TOOLBOX_REALTIME = {**settings.TOOLBOX_REALTIME, "SSL": True}
    started = time.monotonic()
    result = socket_probe.probe(timeout=1)
    assert time.monotonic() - started < 1.5
    assert not result.ok and result.url.startswith("wss://")
    assert "TLS" in result.message and f"{SETTINGS_NAME}['SSL']" in result.message


def _self_signed_localhost(directory):
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def _tls_proxy_once(listener, context, upstream_port, stop):
    """Accept one TLS connection and relay it to soketi in plain TCP until either side closes."""
    conn, _ = listener.accept()
    with (
        context.wrap_socket(conn, server_side=True) as tls,
        socket.create_connection(("127.0.0.1", upstream_port), timeout=5) as upstream,
    ):
        pairs = {tls: upstream, upstream: tls}
        while not stop.is_set():
            readable, _, _ = select.select(list(pairs), [], [], 0.2)
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                pairs[sock].sendall(data)


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary")
def test_wss_through_tls_proves_the_key(soketi, settings, tmp_path, monkeypatch):
    """SSL=True: the probe speaks TLS (wss://), verifying the certificate."""
    cert, key = _self_signed_localhost(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust it, as a CA bundle would
    stop = threading.Event()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(5)
        port = listener.getsockname()[1]
        thread = threading.Thread(
            target=_tls_proxy_once, args=(listener, context, soketi.port, stop), daemon=True
        )
        thread.start()
        settings.TOOLBOX_REALTIME = {
            **settings.TOOLBOX_REALTIME,
            "HOST": "localhost",
            "PORT": port,
            "SSL": True,
        }
        result = socket_probe.probe(timeout=3)
        stop.set()
        thread.join(timeout=5)
    assert result.ok, result.message
    assert result.url == f"wss://localhost:{port}/app/{soketi.key}" and result.socket_id
