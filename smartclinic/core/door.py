"""Turning the excess away at the door: uvicorn's HTTP protocol answers a shed write itself.

In a booking rush each worker's event loop reads thousands of booking requests a second that
admission control will turn away (``core.admission``). Through ASGI each one costs an asyncio
task, uvicorn's request-response cycle and the middleware chain before the admission layer
answers 503; in the 10,000-student rush those sheds took most of the event loops' time, and
the admitted bookings waited behind them.

``DoorProtocol`` is uvicorn's httptools protocol with one change. Once a request's headers
are read, if it is a write (not ``GET``/``HEAD``, which the micro-cache in front may answer)
to a path of the admission layer and that layer has no place and no wait for it, the protocol
writes the admission layer's own 503 (the same body, the same ``Retry-After`` from the same
virtual queue, counted the same) straight to the connection and drops the request's body as
it arrives. The connection stays open for the client's next request. Anything else starts
its ASGI task as before, and the admission layer decides again there: the door is only a
shortcut to the answer that layer would give. ``python -m smartclinic.serve`` uses it
(``--http door``, the default); sheds answered at the door are not in the access log. It
subclasses uvicorn's protocol, whose internals it relies on: uvicorn is pinned, and
``core/tests/test_door.py`` drives the protocol itself.

Its request-response cycles also send a response of known length in one write: uvicorn writes
the status line and headers as soon as the application starts its answer, and the body with
the next message, two writes and two packets for every booking's small JSON answer. On a
loopback or LAN connection each write is a system call that runs the receiving side's TCP
work too, with the event loop holding the GIL; measured in the closed-loop booking round,
those two writes were 29% of the event loops' busy time (ADR 0006, session 20). A streamed
answer (no ``Content-Length``, server-sent events) still gets its headers at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.utils import is_ssl

from smartclinic.core.admission import AdmissionASGIMiddleware

MAX_LAYERS = 16


def _address(info: Any) -> tuple[str, int] | None:
    """A transport's ``peername`` (or TCP ``sockname``) as uvicorn's scope has it."""
    if isinstance(info, list | tuple) and len(info) >= 2:
        return (str(info[0]), int(info[1]))
    return None


def _local_address(info: Any) -> tuple[str, int | None] | None:
    """A transport's ``sockname``: a Unix socket's is its path alone."""
    return (info, None) if isinstance(info, str) else _address(info)


def admission_layer(app: Any) -> AdmissionASGIMiddleware | None:
    """The admission layer inside an ASGI application's wrappers (each keeps the next in ``app``)."""
    for _ in range(MAX_LAYERS):
        if isinstance(app, AdmissionASGIMiddleware):
            return app
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class _HeadHeldTransport:
    """A cycle's transport from the start of a response of known length: the first write (the
    status line and headers) is held and sent with the next one (the body), or before a close."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.head: bytes | None = None
        self.wrote = False

    def write(self, data: bytes) -> None:
        if not self.wrote:
            self.wrote = True
            self.head = data
            return
        if self.head is not None:
            data, self.head = self.head + data, None
        self.transport.write(data)

    def flush(self) -> None:
        """Send a head still held: the answer is complete with no body written (to ``HEAD``)."""
        if self.head is not None:
            self.transport.write(self.head)
            self.head = None

    def close(self) -> None:
        self.flush()
        self.transport.close()


class OneWriteCycle(RequestResponseCycle):
    """uvicorn's request-response cycle, with a response of known length sent in one write."""

    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start" and not self.response_started and _has_length(message):
            self.transport = _HeadHeldTransport(self.transport)  # type: ignore[assignment]
        await super().send(message)
        if self.response_complete and isinstance(self.transport, _HeadHeldTransport):
            self.transport.flush()
            self.transport = self.transport.transport


def _has_length(message: Any) -> bool:
    return any(name.lower() == b"content-length" for name, _value in message.get("headers", ()))


class DoorProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.admission = admission_layer(self.app)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvicorn's reads both addresses off ``get_extra_info("socket")``: under uvloop that
        # builds a Python socket object for every new connection, whose system calls each give
        # the GIL up, and the event loop then waits for a booking thread to hand it back
        # (measured in the rush: 30% of the loop's busy time in the first seconds went there).
        # The transport knows the same two addresses already.
        self.connections.add(self)
        self.transport = transport
        self.flow = FlowControl(transport)
        self.server = _local_address(transport.get_extra_info("sockname"))
        self.client = _address(transport.get_extra_info("peername"))
        self.scheme = "https" if is_ssl(transport) else "http"

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        cycle.__class__ = OneWriteCycle  # built by uvicorn's ``on_headers_complete``; adds no state
        # ``app`` is uvicorn's own 503 application past ``--limit-concurrency``: left to it.
        if self.admission is not None and app is self.app:
            answer = self.admission.door_answer(cycle.scope)  # type: ignore[arg-type]
            if answer is not None:
                self._answer_at_the_door(cycle, *answer)
                return
        super()._start_asgi_task(cycle, app)

    def _answer_at_the_door(self, cycle: RequestResponseCycle, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        parts = [STATUS_LINE[503]]
        for name, value in [*self.server_state.default_headers, *headers]:
            parts += [name, b": ", value, b"\r\n"]
        if not cycle.keep_alive:
            parts.append(b"connection: close\r\n")
        parts += [b"\r\n", body]
        self.transport.write(b"".join(parts))
        # As the cycle ends a response it sent: the body still to come is dropped (the parser's
        # callbacks skip a completed cycle) and the next request on the connection goes ahead.
        cycle.response_started = True
        cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()
