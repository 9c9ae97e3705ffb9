"""The network block holds in the processes the tests start, not only in the test process:
a child cannot reach a non-loopback host or resolve a name, and loopback still works (the
MLflow server and the notebook kernel talk over it)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

#: TEST-NET-1 (RFC 5737): never routed, so even a broken block could not reach a real host
OFF_HOST = "192.0.2.1"

_CHILD = r"""
import json, socket, sys, urllib.request
out = {}
def attempt(name, fn):
    try:
        fn()
        out[name] = "ok"
    except OSError as exc:
        out[name] = str(exc)
def off_host():
    with socket.create_connection((sys.argv[1], 80), timeout=3):
        pass
def raw_connect():
    with socket.socket() as s:
        s.settimeout(3)
        s.connect((sys.argv[1], 443))
def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"x", (sys.argv[1], 53))
def lookup():
    socket.getaddrinfo("example.com", 443)
def http():
    urllib.request.urlopen(f"http://{sys.argv[1]}/", timeout=3)
def loopback():
    with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10) as s:
        s.sendall(b"hello from the child")
for name, fn in [("create_connection", off_host), ("connect", raw_connect), ("sendto", udp),
                 ("getaddrinfo", lookup), ("urlopen", http), ("loopback", loopback)]:
    attempt(name, fn)
print(json.dumps(out))
"""


@pytest.fixture
def loopback_listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP listener on 127.0.0.1 that keeps what each connection sends."""
    received: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(30)

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            received.append(conn.recv(1024))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    server.close()
    thread.join(5)


def _attempts(log: Path, pid: int | None = None) -> list[dict]:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line]
    return [r for r in rows if pid is None or r["pid"] == pid]


def test_a_python_subprocess_reaches_loopback_only(network_blocked_everywhere, loopback_listener):
    port, received = loopback_listener
    before = len(_attempts(network_blocked_everywhere))
    r = subprocess.run(
        [sys.executable, "-c", _CHILD, OFF_HOST, str(port)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    for name in ("connect", "sendto"):
        assert "network blocked in tests" in out[name], (name, out[name])
    for name in ("create_connection", "urlopen"):  # these resolve the address first
        assert f"name lookup blocked in tests: '{OFF_HOST}'" in out[name], (name, out[name])
    assert "name lookup blocked in tests: 'example.com'" in out["getaddrinfo"]
    assert out["loopback"] == "ok"
    assert received == [b"hello from the child"]
    # every refused attempt of the child is on record, with what it tried to reach
    new = _attempts(network_blocked_everywhere)[before:]
    kinds = sorted({(a["kind"], a["target"]) for a in new})
    assert ("connect", repr((OFF_HOST, 443))) in kinds
    assert ("sendto", repr((OFF_HOST, 53))) in kinds
    assert ("getaddrinfo", repr("example.com")) in kinds
    assert ("getaddrinfo", repr(OFF_HOST)) in kinds  # create_connection / urlopen resolve first


def test_the_block_is_on_in_this_process_too(block_network):
    with pytest.raises(OSError, match="network blocked"), socket.socket() as s:
        s.connect((OFF_HOST, 80))
    with pytest.raises(socket.gaierror, match="blocked"):
        socket.getaddrinfo("pypi.org", 443)
    assert block_network == [("connect", (OFF_HOST, 80)), ("getaddrinfo", "pypi.org")]


class _Health(BaseHTTPRequestHandler):
    """Answers ``/health`` like an MLflow server and refuses the rest; remembers the paths."""

    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()
        self.wfile.write(b"OK")

    do_POST = do_GET

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture
def fake_tracking_server() -> Iterator[tuple[str, list[str]]]:
    _Health.paths = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Health.paths
    server.shutdown()
    server.server_close()


def _train_cli(tmp_path: Path, toy_dataset: Path, uri: str, name: str):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "figure_ml.train",
            "experiment=smoke",
            f"data.path={toy_dataset}",
            f"data.cache_dir={tmp_path / 'cache'}",
            f"run_dir={tmp_path / name}",
            f"tracking.uri={uri}",
            "tracking.connect_timeout_s=5",
            "tracking.http_max_retries=0",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_a_cli_subprocess_cannot_reach_a_tracking_server_off_this_host(
    tmp_path, toy_dataset, network_blocked_everywhere, fake_tracking_server
):
    """``python -m figure_ml.train`` checks its tracking server before anything else: off this
    host the check is refused by the block (not by a timeout); on loopback it gets through."""
    r = _train_cli(tmp_path, toy_dataset, f"http://{OFF_HOST}:5000", "off")
    assert r.returncode == 2, r.stderr[-3000:]
    assert f"{OFF_HOST}:5000 is unreachable" in r.stderr
    assert "blocked in tests" in r.stderr
    tried = [a for a in _attempts(network_blocked_everywhere) if "figure_ml" in str(a["argv"])]
    assert any(OFF_HOST in a["target"] for a in tried)
    assert not (tmp_path / "off").exists()  # nothing half-written

    uri, paths = fake_tracking_server
    r = _train_cli(tmp_path, toy_dataset, uri, "loop")
    # the fake server answers only /health, so the run stops at its first MLflow call ...
    assert r.returncode == 2, r.stderr[-3000:]
    # ... but the child reached it over loopback: the health check and that call arrived
    assert paths[0] == "/health"
    assert any(p.startswith("/api/") for p in paths[1:]), paths
