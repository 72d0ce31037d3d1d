"""The production web server: uvicorn workers, each listening on its own ``SO_REUSEPORT`` socket.

    python -m smartclinic.serve --workers 4 --host 127.0.0.1 --port 8000 --backlog 4096

``uvicorn --workers N`` binds one socket and shares it between the workers; each accepts
whatever connection it wakes up for first, so a few keep-alive connections (a proxy's upstream
pool, a load balancer, a benchmark) often all end up in one worker while the others idle and
the busy one sheds (measured with 8 keep-alive clients: one worker at 41% CPU, three at 4-12%,
and 503s from the busy one; ADR 0006). Here every worker binds its own socket to the same
address with ``SO_REUSEPORT`` and the kernel spreads new connections evenly over them.
Everything else is uvicorn's own supervisor (restarts, health checks, graceful shutdown).
The supervisor also makes the workers' shared directory (``core.shared_log``): what one worker's
bookings learn about slots' places reaches the slot lists the others serve.

Each worker speaks HTTP with ``core.door.DoorProtocol`` (``--http door``): uvicorn's httptools
protocol, except that a booking write admission control turns away is answered 503 at once,
without becoming an ASGI task. ``--http httptools`` gives uvicorn's own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import uvicorn
from uvicorn.supervisors import multiprocess

from smartclinic.core.shared_log import ENV_DIR, ENV_RINGS

HTTP_PROTOCOLS = {"door": "smartclinic.core.door:DoorProtocol", "httptools": "httptools"}


def reuse_port_socket(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class ReusePortProcess(multiprocess.Process):
    """A uvicorn worker that opens its own listening socket (in the worker, after the spawn)."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover - in the child
        own = reuse_port_socket(self.config.host, self.config.port, self.config.backlog)
        super().target([own])


def ensure_port_free(host: str, port: int) -> None:
    """Refuse to start beside another server on the same address: with ``SO_REUSEPORT`` the
    kernel would quietly split the connections between them (say, an old version still up)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise SystemExit(f"{host}:{port} is in use: {exc.strerror}") from exc


@contextlib.contextmanager
def shared_directory(workers: int) -> Iterator[None]:
    """A directory for ``core.shared_log`` (one ring per worker), in memory where the system has
    ``/dev/shm``, named to the workers in their environment and removed when the server stops."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None  # noqa: S108
    directory = tempfile.mkdtemp(prefix="smartclinic-", dir=base)
    os.environ[ENV_DIR], os.environ[ENV_RINGS] = directory, str(workers)
    try:
        yield
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run(config: uvicorn.Config) -> None:
    if config.workers <= 1:
        uvicorn.Server(config).run()
        return
    ensure_port_free(config.host, config.port)
    # The supervisor looks its worker class up in its own module when it starts or restarts one.
    multiprocess.Process = ReusePortProcess  # type: ignore[misc]
    with shared_directory(config.workers):
        multiprocess.Multiprocess(config, sockets=[]).run()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m smartclinic.serve", description=__doc__.splitlines()[0])
    parser.add_argument("app", nargs="?", default="config.asgi:application")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--access-log", action="store_true")
    parser.add_argument("--timeout-graceful-shutdown", type=int, default=5)
    parser.add_argument("--http", choices=sorted(HTTP_PROTOCOLS), default="door")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> uvicorn.Config:
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "backlog": args.backlog,
        "log_level": args.log_level,
        "access_log": args.access_log,
        "timeout_graceful_shutdown": args.timeout_graceful_shutdown,
        "http": HTTP_PROTOCOLS[args.http],
    }
    return uvicorn.Config(args.app, **options)


def main(argv: list[str] | None = None) -> None:
    run(config_from(parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
