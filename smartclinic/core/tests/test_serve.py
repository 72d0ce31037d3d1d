"""The production launcher: every worker listens on its own socket, and connections reach all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from smartclinic.serve import config_from, main, parse_args


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answer(port: int, path: str = "/") -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Connection": "close"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()


def _listening_sockets(port: int) -> int:
    """Sockets listening on 127.0.0.1:``port`` (``/proc/net/tcp``: state 0A is LISTEN)."""
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(1 for row in rows if row[1] == f"0100007F:{port:04X}" and row[3] == "0A")


def test_new_connections_are_spread_over_every_worker():
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "smartclinic.serve", "smartclinic.core.tests.pid_app:app", "--workers", "2",
         "--port", str(port), "--log-level", "warning"],
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while _listening_sockets(port) < 2:  # one socket per worker (a shared one is listed once)
            assert time.monotonic() < deadline, "the workers did not come up"
            assert server.poll() is None, "the server exited"
            time.sleep(0.2)
        # each connection lands on one worker's own socket, hashed by the kernel: with two
        # workers, 40 connections all reaching one of them would be a 1 in 2**39 chance
        answered_by = {_answer(port) for _ in range(40)}
        assert len(answered_by) == 2
        assert str(server.pid) not in answered_by  # the supervisor itself does not listen
        # the workers share a directory (core.shared_log), one ring each
        shared, rings = _answer(port, "/shared").split()
        assert os.path.isdir(shared) and rings == "2"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert not os.path.exists(shared)  # removed when the server stopped


def test_options_become_uvicorn_settings():
    config = config_from(parse_args(["--workers", "3", "--port", "8123", "--backlog", "4096"]))
    assert (config.workers, config.port, config.backlog, config.access_log) == (3, 8123, 4096, False)
    assert config.app == "config.asgi:application"
    assert config.http == "smartclinic.core.door:DoorProtocol"  # sheds answered at the door
    assert config_from(parse_args(["--http", "httptools"])).http == "httptools"


def test_it_will_not_share_its_address_with_another_server():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(SystemExit, match="in use"):
            main(["smartclinic.core.tests.pid_app:app", "--workers", "2", "--port", str(port)])


def _connection_to_a_worker(port: int) -> tuple[socket.socket, str]:
    """A keep-alive connection, and the process id of the worker the kernel gave it to."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET /pid HTTP/1.1\r\nHost: test\r\n\r\n")
    return sock, _read_answer(sock)[1]


def _read_answer(sock: socket.socket) -> tuple[int, str]:
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
        chunk = sock.recv(4096)
        assert chunk, "the server closed the connection"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    return int(head.split()[1]), body.decode()


def _length(data: bytes) -> int:
    head = data.split(b"\r\n\r\n", 1)[0].decode().lower()
    return next(int(line.split(":")[1]) for line in head.split("\r\n") if line.startswith("content-length"))


def test_the_workers_share_the_servers_places_wherever_the_connections_land(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "SMARTCLINIC_TESTING": "1",
        "DATABASE_POOL": "0",
        "ADMISSION_MAX_IN_FLIGHT": "1",  # two workers: two places for the server
        "ADMISSION_WORKER_MAX_IN_FLIGHT": "2",
        "ADMISSION_HOPEFUL_WAITING": "0",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "smartclinic.serve", "smartclinic.core.tests.held_app:app", "--workers", "2",
         "--port", str(port), "--log-level", "warning"],
        start_new_session=True, env=env,
    )  # fmt: skip
    release = tmp_path / "release"
    connections: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 60
        while _listening_sockets(port) < 2:
            assert time.monotonic() < deadline, "the workers did not come up"
            assert server.poll() is None, "the server exited"
            time.sleep(0.2)
        # Two connections the kernel gave to the same worker, and one to the other.
        by_worker: dict[str, list[socket.socket]] = {}
        while len(by_worker) < 2 or max(len(held) for held in by_worker.values()) < 2:
            sock, pid = _connection_to_a_worker(port)
            connections.append(sock)
            by_worker.setdefault(pid, []).append(sock)
        busy = next(pid for pid, held in by_worker.items() if len(held) >= 2)
        idle = next(pid for pid in by_worker if pid != busy)
        booking = f"POST /api/v1/appointments?{release} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n".encode()

        # Both of the busy worker's requests are let in: the server has two places, one of them
        # the idle worker's share. With places kept per worker the second would be shed.
        for sock in by_worker[busy][:2]:
            sock.sendall(booking)
        time.sleep(1.0)
        # The server's places are taken: the other worker turns its request away at once.
        by_worker[idle][0].sendall(booking)
        assert _read_answer(by_worker[idle][0])[0] == 503
        release.touch()
        assert [_read_answer(sock) for sock in by_worker[busy][:2]] == [(200, busy), (200, busy)]
    finally:
        for sock in connections:
            sock.close()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
