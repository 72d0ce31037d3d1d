"""Django's ASGI handler with kept request threads: each request still has a thread of its own
for its synchronous work, the thread is kept for a later request, and its database connection
is handled at the request's end as under WSGI. The middleware chain runs in synchronous mode,
one call in that thread, and async views still run in the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings as django_settings
from django.db import connection, connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path

from smartclinic.core.asgi_handler import KeptThreadsASGIHandler
from smartclinic.core.testing import asgi_get

pytestmark = pytest.mark.django_db(transaction=True)

_both_inside = threading.Barrier(2, timeout=10)


def _this_thread() -> HttpResponse:
    thread = threading.current_thread()
    return HttpResponse(f"{thread.name} {thread.ident}")


# The thread objects the "/thread" view ran in: a thread's ident may be reused once it has
# stopped, its object is not.
_threads_seen: list[threading.Thread] = []


def _thread_name(request: HttpRequest) -> HttpResponse:
    _threads_seen.append(threading.current_thread())
    return _this_thread()


def _with_the_database(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return _this_thread()


def _meet_another_request(request: HttpRequest) -> HttpResponse:
    _both_inside.wait()  # only passes if two requests run their views at the same time
    return _this_thread()


async def _async_view(request: HttpRequest) -> HttpResponse:
    return _this_thread()


async def _async_stream(request: HttpRequest) -> StreamingHttpResponse:
    async def events() -> AsyncIterator[bytes]:
        for number in range(3):
            await asyncio.sleep(0)
            yield f"data: {number} {threading.current_thread().name}\n\n".encode()

    return StreamingHttpResponse(events(), content_type="text/event-stream")


urlpatterns = [
    path("thread", _thread_name),
    path("database", _with_the_database),
    path("meet", _meet_another_request),
    path("async", _async_view),
    path("stream", _async_stream),
]


class ModeProbe:
    """A middleware that can run either way, as Django's own: records the mode Django gave it
    (a coroutine function to call next means async mode) and the thread it ran in."""

    sync_capable = True
    async_capable = True
    seen: list[tuple[bool, str]] = []

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        ModeProbe.seen.append((self.async_mode, threading.current_thread().name))
        return self.get_response(request)  # in async mode a coroutine, which Django awaits


PROBE = f"{__name__}.ModeProbe"


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("10.1.2.3", 50000),
        "server": ("testserver", 80),
    }


async def _get(app: Any, path: str) -> tuple[int, str]:
    status, body, _headers = await asgi_get(app, _scope(path))
    return status, body.decode()


@pytest.fixture
def handler(settings):
    settings.ROOT_URLCONF = __name__
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.ASGI_KEPT_THREADS = 4
    # Django's chain with a probe outermost, in the middle and innermost.
    chain = list(django_settings.MIDDLEWARE)
    middle = len(chain) // 2
    settings.MIDDLEWARE = [PROBE, *chain[:middle], PROBE, *chain[middle:], PROBE]
    ModeProbe.seen = []
    _threads_seen.clear()
    app = KeptThreadsASGIHandler()
    yield app
    app.close()


def test_a_later_request_runs_in_the_thread_kept_from_an_earlier_one(handler):
    async def one_after_another() -> list[tuple[int, str]]:
        return [await _get(handler, "/thread"), await _get(handler, "/thread")]

    (status_1, thread_1), (status_2, thread_2) = asyncio.run(one_after_another())

    assert status_1 == status_2 == 200
    assert (
        thread_1.startswith("django-request")
        and thread_1 != f"{threading.current_thread().name} {threading.get_ident()}"
    )
    assert thread_2 == thread_1
    assert _threads_seen[0] is _threads_seen[1]


def test_requests_at_the_same_time_each_have_a_thread_of_their_own(handler):
    async def together() -> list[tuple[int, str]]:
        return list(await asyncio.gather(_get(handler, "/meet"), _get(handler, "/meet")))

    (status_1, thread_1), (status_2, thread_2) = asyncio.run(together())

    assert status_1 == status_2 == 200
    assert thread_1 != thread_2
    assert len(handler._idle) == 2  # both kept for later requests


def test_threads_started_beforehand_serve_the_first_requests_without_a_thread_start(handler, settings, monkeypatch):
    handler.start_threads(2)
    started_beforehand = [next(iter(executor._threads)) for executor in handler._idle]
    assert len(started_beforehand) == 2 and all(thread.is_alive() for thread in started_beforehand)
    starts: list[threading.Thread] = []
    monkeypatch.setattr(threading.Thread, "start", lambda thread: starts.append(thread))

    async def together() -> list[tuple[int, str]]:
        return list(await asyncio.gather(_get(handler, "/meet"), _get(handler, "/meet")))

    answers = asyncio.run(together())
    monkeypatch.undo()

    assert [status for status, _thread in answers] == [200, 200]
    assert starts == []
    assert {thread for _status, thread in answers} == {f"{t.name} {t.ident}" for t in started_beforehand}
    handler.start_threads(10)  # no more than ASGI_KEPT_THREADS are kept
    assert len(handler._idle) == settings.ASGI_KEPT_THREADS


def test_beyond_the_kept_number_a_requests_thread_is_not_kept(handler, settings):
    settings.ASGI_KEPT_THREADS = 0

    async def one_after_another() -> list[tuple[int, str]]:
        return [await _get(handler, "/thread"), await _get(handler, "/thread")]

    asyncio.run(one_after_another())

    first, second = _threads_seen
    assert first is not second
    first.join(timeout=10)  # told to stop once its request ended
    assert not first.is_alive()
    assert handler._idle == []


def test_a_kept_threads_database_connection_is_let_go_at_the_end_of_its_request(handler, settings):
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    for alias in connections:
        connections[alias].settings_dict["CONN_MAX_AGE"] = 0

    status, _thread = asyncio.run(_get(handler, "/database"))

    assert status == 200
    [kept] = handler._idle
    # Django's request_finished closed it in the request's own thread, as under WSGI.
    assert kept.submit(lambda: connections["default"].connection is None).result(timeout=10)


def test_anything_but_http_is_refused_as_django_refuses_it(handler):
    async def lifespan() -> None:
        await handler({"type": "lifespan"}, None, None)

    with pytest.raises(ValueError, match="Django can only handle ASGI/HTTP connections"):
        asyncio.run(lifespan())


def test_the_middleware_chain_runs_in_sync_mode_in_the_requests_thread(handler):
    status, view_thread = asyncio.run(_get(handler, "/thread"))

    assert status == 200
    # Each probe ran in sync mode (Django's async mode hands every hook of every middleware to
    # the request's thread and back), in the thread the view ran in.
    assert len(ModeProbe.seen) == 3
    assert {mode for mode, _thread in ModeProbe.seen} == {False}
    assert {thread for _mode, thread in ModeProbe.seen} == {view_thread.split()[0]}
    assert not iscoroutinefunction(handler._middleware_chain)


def test_an_async_view_still_runs_in_the_event_loop(handler):
    status, view_thread = asyncio.run(_get(handler, "/async"))

    assert status == 200
    assert view_thread == f"{threading.current_thread().name} {threading.get_ident()}"  # the loop's
    assert {mode for mode, _thread in ModeProbe.seen} == {False}


def test_an_async_streamed_body_is_sent_from_the_event_loop(handler):
    status, body = asyncio.run(_get(handler, "/stream"))

    loop_thread = threading.current_thread().name
    assert status == 200
    assert body == "".join(f"data: {number} {loop_thread}\n\n" for number in range(3))
