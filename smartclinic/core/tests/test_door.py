"""The door: uvicorn's protocol answers a write admission control turns away, without ASGI."""

from __future__ import annotations

import asyncio
import functools
import json

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from smartclinic.core.admission import AdmissionASGIMiddleware
from smartclinic.core.door import DoorProtocol, admission_layer
from smartclinic.core.microcache import MicroCache


class Transport(asyncio.Transport):
    """What the protocol writes, on a connection that stays open unless closed."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def take(self) -> list[tuple[int, dict[str, str], bytes]]:
        """The complete responses written so far (status, headers, body), removed from the buffer."""
        responses = []
        while b"\r\n\r\n" in self.written:
            head, _, rest = bytes(self.written).partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
            size = int(headers.get("content-length", "0"))
            if len(rest) < size:
                break
            responses.append((int(lines[0].split()[1]), headers, rest[:size]))
            self.written = bytearray(rest[size:])
        return responses


@pytest.fixture
def door(settings):
    settings.ADMISSION_PATHS = ["/api/v1/appointments", "/api/v1/slots"]
    settings.ADMISSION_MAX_IN_FLIGHT = 1
    settings.ADMISSION_MAX_WAIT_MS = 0
    settings.ADMISSION_RETRY_AFTER = 1
    settings.MICROCACHE_TTL_MS = 0
    calls: list[str] = []
    release = asyncio.Event()

    async def app(scope, receive, send):
        calls.append(f"{scope['method']} {scope['path']}")
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/api/v1/appointments" and body == b'{"slot_id": "slow"}':
            await release.wait()
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    application = MicroCache(AdmissionASGIMiddleware(app))
    config = Config(application, http=DoorProtocol, lifespan="off", log_level="warning")
    config.load()
    return config, calls, release


def _connect(config: Config) -> tuple[DoorProtocol, Transport]:
    protocol = DoorProtocol(config=config, server_state=ServerState(), app_state={})
    transport = Transport()
    protocol.connection_made(transport)
    return protocol, transport


def _request(method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "host: 127.0.0.1", f"content-length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def in_a_loop(test):
    """Run an async test in a fresh event loop (the protocol needs a running one)."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return run


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def _take_the_one_place(config: Config) -> Transport:
    """A booking that holds admission's one place until the test releases it."""
    protocol, transport = _connect(config)
    protocol.data_received(_request("POST", "/api/v1/appointments", b'{"slot_id": "slow"}'))
    await _settle()
    return transport


def test_the_door_finds_the_admission_layer_inside_the_wrappers(door):
    config, _calls, _release = door
    assert isinstance(admission_layer(config.loaded_app), AdmissionASGIMiddleware)
    assert admission_layer(object()) is None


@in_a_loop
async def test_the_addresses_come_from_the_transport(door):
    config, _calls, _release = door
    protocol, _transport = _connect(config)
    assert (protocol.server, protocol.client, protocol.scheme) == (("127.0.0.1", 8000), ("127.0.0.1", 50000), "http")


@in_a_loop
async def test_a_write_with_no_place_is_answered_at_the_door_and_the_connection_goes_on(door):
    config, calls, release = door
    first_transport = await _take_the_one_place(config)
    assert calls == ["POST /api/v1/appointments"]  # admitted: the one place is taken

    second, transport = _connect(config)
    shed = _request("POST", "/api/v1/appointments", b'{"slot_id": "x"}', accept_language="en")
    second.data_received(shed[:-5])  # the body arrives after the answer: dropped
    (status, headers, body), *rest = transport.take()
    assert not rest and not second.tasks  # answered at once, no ASGI task started
    assert status == 503 and headers["retry-after"] == "1" and headers["cache-control"] == "no-store"
    assert json.loads(body) == {
        "code": "core.overloaded",
        "message": "The service is busy right now. Try again in a moment.",
        "extra": {"retry_after": 1},
    }
    assert calls == ["POST /api/v1/appointments"]  # the application never saw it
    assert admission_layer(config.loaded_app).shedder.shed_count == 1

    second.data_received(shed[-5:])  # the rest of the shed body, then the next request
    release.set()
    await _settle()
    assert [s for s, _, _ in first_transport.take()] == [201]
    second.data_received(_request("POST", "/api/v1/appointments", b'{"slot_id": "y"}'))
    await _settle()
    assert [s for s, _, _ in transport.take()] == [201]  # same connection, served now
    assert not transport.closed
    assert calls[-1] == "POST /api/v1/appointments"


@in_a_loop
async def test_reads_and_other_paths_still_go_through_asgi(door):
    config, calls, release = door
    await _take_the_one_place(config)

    reader, transport = _connect(config)
    reader.data_received(_request("GET", "/api/v1/slots"))
    reader.data_received(_request("POST", "/api/v1/other"))
    await _settle()
    statuses = [s for s, _, _ in transport.take()]
    # the read was shed by the admission layer in ASGI (where the micro-cache could have
    # answered it); the other path is not the admission layer's to shed
    assert statuses == [503, 201]
    assert calls == ["POST /api/v1/appointments", "POST /api/v1/other"]
    release.set()
    await _settle()


@in_a_loop
async def test_a_connection_that_asked_to_close_is_closed_after_the_door_answer(door):
    config, _calls, release = door
    await _take_the_one_place(config)

    closing, transport = _connect(config)
    closing.data_received(_request("POST", "/api/v1/appointments", b"{}", connection="close"))
    [(status, headers, _body)] = transport.take()
    assert status == 503 and headers["connection"] == "close"
    assert transport.closed
    release.set()
    await _settle()


class Hopeful:
    """Judges a booking for the slot "hopeful" worth a wait, while ``on``."""

    on = True

    def judging(self) -> bool:
        return self.on

    def worth_a_wait(self, body: bytes) -> bool:
        return body == b'{"slot_id": "hopeful"}'


@in_a_loop
async def test_a_write_that_may_be_worth_a_wait_is_left_to_the_admission_layer(door, settings):
    settings.ADMISSION_HOPEFUL_WAITING = 1
    settings.ADMISSION_HOPEFUL_WAIT_MS = 500
    config, calls, release = door
    layer = admission_layer(config.loaded_app)
    layer.judges = {"/api/v1/appointments": Hopeful()}
    await _take_the_one_place(config)

    waiting, waiting_transport = _connect(config)
    waiting.data_received(_request("POST", "/api/v1/appointments", b'{"slot_id": "hopeful"}'))
    await _settle()
    assert waiting.tasks and not waiting_transport.take()  # not shed at the door: it waits
    assert layer.room.waiting_hopefully == 1

    beyond, transport = _connect(config)
    beyond.data_received(_request("POST", "/api/v1/appointments", b'{"slot_id": "hopeful"}'))
    [(status, _headers, _body)] = transport.take()
    assert status == 503 and not beyond.tasks  # the hopeful may wait no more: shed at the door

    release.set()
    await _settle()
    assert [s for s, _, _ in waiting_transport.take()] == [201]
    assert calls == ["POST /api/v1/appointments"] * 2


@in_a_loop
async def test_while_the_judge_is_not_judging_the_door_sheds_as_before(door, settings):
    settings.ADMISSION_HOPEFUL_WAITING = 1
    settings.ADMISSION_HOPEFUL_WAIT_MS = 500
    config, _calls, release = door
    judge = Hopeful()
    judge.on = False
    admission_layer(config.loaded_app).judges = {"/api/v1/appointments": judge}
    await _take_the_one_place(config)

    protocol, transport = _connect(config)
    protocol.data_received(_request("POST", "/api/v1/appointments", b'{"slot_id": "hopeful"}'))
    [(status, _headers, _body)] = transport.take()
    assert status == 503 and not protocol.tasks
    release.set()
    await _settle()


class CountingTransport(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data) -> None:
        self.writes += 1
        super().write(data)


def _plain(app) -> tuple[DoorProtocol, CountingTransport]:
    config = Config(app, http=DoorProtocol, lifespan="off", log_level="warning")
    config.load()
    protocol = DoorProtocol(config=config, server_state=ServerState(), app_state={})
    transport = CountingTransport()
    protocol.connection_made(transport)
    return protocol, transport


@in_a_loop
async def test_a_response_of_known_length_goes_out_in_one_write():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-length", b"11")]})
        await send({"type": "http.response.body", "body": b'{"id": "a"}'})

    protocol, transport = _plain(app)
    protocol.data_received(_request("POST", "/api/v1/appointments", b"{}"))
    await _settle()
    assert transport.writes == 1
    protocol.data_received(_request("POST", "/api/v1/appointments", b"{}"))  # the same connection goes on
    await _settle()
    assert transport.writes == 2
    assert [(s, b) for s, _, b in transport.take()] == [(201, b'{"id": "a"}')] * 2
    assert not transport.closed


@in_a_loop
async def test_a_streamed_response_gets_its_headers_at_once():
    go_on = asyncio.Event()

    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        await go_on.wait()
        await send({"type": "http.response.body", "body": b"data: 1\n\n"})

    protocol, transport = _plain(app)
    protocol.data_received(_request("GET", "/api/v1/queue/stream"))
    await _settle()
    assert transport.written.startswith(b"HTTP/1.1 200 OK\r\n") and transport.written.endswith(b"\r\n\r\n")
    go_on.set()
    await _settle()
    assert transport.written.endswith(b"data: 1\n\n\r\n0\r\n\r\n")  # chunked, after the headers already sent


@in_a_loop
async def test_a_held_head_is_not_lost_when_the_application_fails_after_starting():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
        raise RuntimeError("the application broke mid-answer")

    protocol, transport = _plain(app)
    protocol.data_received(_request("GET", "/api/v1/departments"))
    await _settle()
    # as uvicorn did before: the head that was started, then the connection closed
    assert transport.written.startswith(b"HTTP/1.1 200 OK\r\n") and transport.closed


@in_a_loop
async def test_the_head_of_an_answer_to_head_is_sent_though_no_body_follows():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"11")]})
        await send({"type": "http.response.body", "body": b'{"id": "a"}'})  # uvicorn drops it for HEAD

    protocol, transport = _plain(app)
    protocol.data_received(_request("HEAD", "/api/v1/departments"))
    await _settle()
    assert transport.written.startswith(b"HTTP/1.1 200 OK\r\n") and transport.written.endswith(b"\r\n\r\n")
    assert b"content-length: 11" in transport.written.lower() and not transport.closed
