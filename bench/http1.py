"""A lean HTTP/1.1 keep-alive client for the load generator (``bench/rush.py``).

The load client shares this 2-core machine with the server it measures: every CPU-second it
spends is one the server does not get. aiohttp cost about 0.3 ms of CPU per request here, and in
the rush the client's single event loop saturated a core before the server did (its requests
queued in the client, not in the server). This client does only what the benchmark needs:
keep-alive connections to one host, requests written in one ``write``, responses parsed by
``httptools`` (the C parser uvicorn uses) in an ``asyncio.Protocol``; about a tenth of the CPU.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import cast

import httptools


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self.idle_since = time.monotonic()
        self.deadline = 0.0  # of the request on the wire (monotonic)
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"bad response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("the server closed the connection"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        response = Response(self.parser.get_status_code(), self._headers, b"".join(self._body))
        self._headers, self._body = {}, []
        if not self.parser.should_keep_alive():
            self.close()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(response)

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Http1Pool:
    """Keep-alive connections to one ``host:port``; at most ``limit`` open at once is the
    caller's business (the load client bounds its requests in flight)."""

    def __init__(self, host: str, port: int, *, timeout: float = 30.0, keepalive: float = 3.0) -> None:
        self.host, self.port = host, port
        self.timeout = timeout
        # Requests on the wire, each failed with ``TimeoutError`` past its deadline by one sweep
        # a second (``asyncio.timeout`` per request cost a timer of its own each time).
        self._busy: set[_Connection] = set()
        self._sweeper: asyncio.Task[None] | None = None
        # Idle connections are dropped well before the server's keep-alive timeout (uvicorn: 5 s),
        # so that a request never races the server closing its end.
        self.keepalive = keepalive
        self._idle: list[_Connection] = []
        self._pick = random.Random(0)
        self._host_header = f"Host: {host}:{port}\r\n"
        self.opened = 0  # connections, for the summary

    def _idle_connection(self) -> _Connection | None:
        now = time.monotonic()
        idle = self._idle
        while idle:
            # Any idle connection, not the most recently used: that one is most often a worker's
            # that has just answered fast (a 503, a 409), and reusing it first sent the next
            # requests to the workers already shedding while another one went without (ADR 0006,
            # session 17). Each phone of a real rush has its own connection.
            index = self._pick.randrange(len(idle))
            idle[index], idle[-1] = idle[-1], idle[index]
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < self.keepalive:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        self.opened += 1
        async with asyncio.timeout(self.timeout):
            _transport, connection = await loop.create_connection(_Connection, self.host, self.port)
        return connection

    async def _sweep(self) -> None:
        while self._busy:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for connection in [c for c in self._busy if c.deadline < now]:
                self._busy.discard(connection)
                connection._fail(TimeoutError(f"no answer within {self.timeout} s"))
                connection.close()  # a late answer must not be read as the next request's
        self._sweeper = None

    async def request(self, method: str, target: str, headers: str, body: bytes | None = None) -> Response:
        """One request (``headers``: its header lines, each ending in CRLF); raises
        ``TimeoutError`` or an ``OSError`` when no answer came."""
        if body is not None:
            headers += f"Content-Length: {len(body)}\r\n"
        payload = f"{method} {target} HTTP/1.1\r\n{self._host_header}{headers}\r\n".encode("latin-1")
        if body is not None:
            payload += body
        connection = self._idle_connection() or await self._connect()
        connection.deadline = time.monotonic() + self.timeout
        self._busy.add(connection)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
        try:
            connection.waiter = asyncio.get_running_loop().create_future()
            assert connection.transport is not None
            connection.transport.write(payload)
            response = await connection.waiter
        except BaseException:
            connection.close()  # a late answer must not be read as the next request's
            raise
        finally:
            self._busy.discard(connection)
        connection.waiter = None
        if not connection.closed:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        return response

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
