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
