"""The micro-cache for public lists: one answer per key per TTL, concurrent misses collapsed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from smartclinic.core.microcache import MicroCache
from smartclinic.core.testing import asgi_get


def _scope(path: str = "/api/v1/slots", query: bytes = b"department=NK", **headers: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


class Origin:
    """A stand-in application that counts the requests reaching it."""

    def __init__(self, status: int = 200, delay: float = 0.0, headers: list | None = None) -> None:
        self.calls = 0
        self.status, self.delay, self.headers = status, delay, headers or []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        number = self.calls
        await asyncio.sleep(self.delay)
        await send({"type": "http.response.start", "status": self.status, "headers": list(self.headers)})
        await send({"type": "http.response.body", "body": f"answer {number}".encode()})


@pytest.fixture
def cache_settings(settings):
    settings.MICROCACHE_PATHS = ["/api/v1/slots"]
    settings.MICROCACHE_TTL_MS = 200
    return settings


def test_repeats_within_the_ttl_are_answered_from_memory(cache_settings):
    origin = Origin()
    app = MicroCache(origin)

    async def scenario():
        first = await asgi_get(app, _scope())
        second = await asgi_get(app, _scope())
        other_query = await asgi_get(app, _scope(query=b"department=WK"))
        other_language = await asgi_get(app, _scope(accept_language="en"))
        await asyncio.sleep(0.25)
        stale = await asgi_get(app, _scope())  # served at once, refreshed behind it
        await asyncio.sleep(0.01)
        refreshed = await asgi_get(app, _scope())
        return first, second, other_query, other_language, stale, refreshed

    first, second, other_query, other_language, stale, refreshed = asyncio.run(scenario())
    assert first[1] == second[1] == b"answer 1"
    assert b"age" in second[2]
    assert other_query[1] == b"answer 2" and other_language[1] == b"answer 3"
    assert stale[1] == b"answer 1" and refreshed[1] == b"answer 4"
    assert origin.calls == 4


def test_past_the_stale_limit_the_request_waits_for_a_fresh_answer(cache_settings):
    cache_settings.MICROCACHE_STALE_MS = 250
    origin = Origin()
    app = MicroCache(origin)

    async def scenario():
        await asgi_get(app, _scope())
        await asyncio.sleep(0.3)
        return await asgi_get(app, _scope())

    assert asyncio.run(scenario())[1] == b"answer 2"


def test_refreshes_pass_admission_control_and_others_are_not_held_up(cache_settings):
    from smartclinic.core.admission import PRIORITY

    seen = []

    class Recording(Origin):
        async def __call__(self, scope, receive, send):
            seen.append(bool(scope.get(PRIORITY)))
            await super().__call__(scope, receive, send)

    app = MicroCache(Recording())

    async def scenario():
        await asgi_get(app, _scope())
        await asgi_get(app, _scope(authorization="Bearer x"))  # the same public answer, from memory
        await asgi_get(app, _scope(cookie="django_language=en"))  # not cached: an ordinary request

    asyncio.run(scenario())
    assert seen == [True, False]


def test_concurrent_misses_become_one_request(cache_settings):
    origin = Origin(delay=0.05)
    app = MicroCache(origin)

    async def scenario():
        return await asyncio.gather(*[asgi_get(app, _scope()) for _ in range(20)])

    answers = asyncio.run(scenario())
    assert {body for _, body, _ in answers} == {b"answer 1"}
    assert origin.calls == 1


@pytest.mark.parametrize(
    ("scope", "origin"),
    [
        (_scope(cookie="sessionid=1"), Origin()),  # a browser: its language cookie, its session
        (_scope(path="/api/v1/appointments"), Origin()),  # not a listed path
        (_scope(), Origin(status=503)),  # only successes are kept
        (_scope(), Origin(headers=[(b"set-cookie", b"a=b")])),
    ],
)
def test_what_is_not_cached(cache_settings, scope, origin):
    app = MicroCache(origin)

    async def scenario():
        await asgi_get(app, dict(scope))
        await asgi_get(app, dict(scope))

    asyncio.run(scenario())
    assert origin.calls == 2


def test_turned_off_with_a_zero_ttl(cache_settings):
    cache_settings.MICROCACHE_TTL_MS = 0
    origin = Origin()
    app = MicroCache(origin)

    async def scenario():
        await asgi_get(app, _scope())
        await asgi_get(app, _scope())

    asyncio.run(scenario())
    assert origin.calls == 2


def test_a_stale_answer_is_refreshed_once_however_many_ask(cache_settings):
    class Listening(Origin):
        async def __call__(self, scope, receive, send):
            assert (await receive())["type"] == "http.request"
            listener = asyncio.create_task(receive())  # as Django listens for a disconnect
            await super().__call__(scope, receive, send)
            assert not listener.done()
            listener.cancel()

    origin = Listening(delay=0.05)
    app = MicroCache(origin)

    async def scenario():
        await asgi_get(app, _scope())
        await asyncio.sleep(0.25)
        answers = await asyncio.gather(*[asgi_get(app, _scope()) for _ in range(10)])
        await asyncio.sleep(0.1)
        return answers, await asgi_get(app, _scope())

    answers, after = asyncio.run(scenario())
    assert {body for _, body, _ in answers} == {b"answer 1"}
    assert after[1] == b"answer 2" and origin.calls == 2


def test_refreshes_at_once_are_bounded(cache_settings):
    cache_settings.MICROCACHE_MAX_REFRESHING = 1
    origin = Origin(delay=0.05)
    app = MicroCache(origin)

    async def scenario():
        return await asyncio.gather(*[asgi_get(app, _scope(query=f"d={i}".encode())) for i in range(3)])

    answers = asyncio.run(scenario())
    assert [status for status, _, _ in answers] == [200, 200, 200]
    assert app.refreshing == 0 and not app.pending


def test_an_answer_is_not_served_past_its_cache_until_instant_fresh_or_stale(cache_settings):
    import time

    cache_settings.MICROCACHE_TTL_MS = 5000
    cache_settings.MICROCACHE_STALE_MS = 10000
    origin = Origin(headers=[(b"x-cache-until", f"{time.time() + 0.15:.3f}".encode())])
    app = MicroCache(origin)

    async def scenario():
        first = await asgi_get(app, _scope())
        before = await asgi_get(app, _scope())
        await asyncio.sleep(0.2)
        after = await asgi_get(app, _scope())
        return first, before, after

    first, before, after = asyncio.run(scenario())
    assert (first[1], before[1], after[1]) == (b"answer 1", b"answer 1", b"answer 2")
    assert b"x-cache-until" not in first[2] and b"x-cache-until" not in before[2]
