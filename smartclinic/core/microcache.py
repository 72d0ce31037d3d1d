"""A micro-cache for public lists read by everyone at once (the slot list in a booking rush).

When slots open, every student re-lists the day's slots after each "slot full": thousands of
identical requests per second, each costing a query and a serialization. ``MicroCache`` keeps
a successful answer in the process for ``MICROCACHE_TTL_MS`` (a second by default) and
collapses concurrent misses into one request (the others wait for its answer), as a reverse
proxy's ``proxy_cache_valid 200 1s; proxy_cache_lock on;`` would. The list can thus be that
much older than the database; the booking itself always decides on the row.

Only ``GET`` requests to ``MICROCACHE_PATHS`` without a ``Cookie`` are cached, keyed by path,
query string and ``Accept-Language``; only 200 answers without ``Set-Cookie``. The paths must
be public endpoints whose answer does not depend on who asks (an app sends its bearer token
with every request, the slot list ignores it). ``MICROCACHE_TTL_MS=0`` turns it off.

A refresh is one request per key per TTL in each process: it is marked ``PRIORITY`` so that
admission control lets it through even when it sheds everything else (the cache would
otherwise never fill in the very rush it is for). While it runs, or when it fails, the last
answer is served if it is less than ``MICROCACHE_STALE_MS`` old (stale-while-revalidate,
stale-if-error); nobody waits for a refresh unless there is nothing to serve.

An answer that changes at a known instant (the slot list when booking opens: ``bookable``
turns true) says so in ``X-Cache-Until`` (epoch seconds): it is not served from memory, fresh
or stale, from that instant on, so that nobody is told "not open yet" after the release. The
header is for this cache only and is not passed on.

A path may have a refiner (``refiners``): what it serves from memory is then the refiner's
``body_for(answer)``, the cached answer brought up to date with what the process learned since
it was read (``booking.slot_marks``: the slot list with the places booked since).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings

from smartclinic.core.admission import PRIORITY

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]  # Django's handler types its own

logger = logging.getLogger("smartclinic.microcache")

MAX_ENTRIES = 2048

MAX_BODY = 2 * 1024 * 1024

UNTIL_HEADER = b"x-cache-until"


def _empty_body() -> Receive:
    """The ``receive`` of a refresh made by the cache itself: an empty body, then nothing (the
    application listens for a disconnect until it has answered)."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # never: the application stops listening once it answered
        return {"type": "http.disconnect"}

    return receive


def _epoch(value: bytes) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0  # unreadable: treat as already past


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    stored_at: float
    expires_at: float = float("inf")  # monotonic; from X-Cache-Until
    read_at: float = 0.0  # monotonic: when the request that made it went in (before its reads)
    scratch: dict[str, Any] = field(default_factory=dict)  # its refiner's, per answer


class Refiner(Protocol):
    """Serves a cached answer's body as it should be now (``booking.slot_marks``)."""

    def body_for(self, answer: Answer) -> bytes: ...


class MicroCache:
    def __init__(self, app: ASGIApp, *, refiners: dict[str, Refiner] | None = None) -> None:
        self.app = app
        self.refiners = refiners or {}  # by path
        self.entries: dict[tuple[str, bytes, bytes], Answer] = {}
        self.pending: dict[tuple[str, bytes, bytes], asyncio.Future[Answer | None]] = {}
        self.hits = 0
        self._tasks: set[asyncio.Task[None]] = set()  # refreshes running behind a stale answer
        self.refreshing = 0

    def _key(self, scope: Scope) -> tuple[str, bytes, bytes] | None:
        if scope["type"] != "http" or scope["method"] != "GET" or settings.MICROCACHE_TTL_MS <= 0:
            return None
        if not scope["path"].startswith(tuple(settings.MICROCACHE_PATHS)):
            return None
        headers = dict(scope.get("headers") or ())
        if b"cookie" in headers:  # a browser's language cookie or session: not worth the risk
            return None
        return scope["path"], scope.get("query_string", b""), headers.get(b"accept-language", b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope)
        if key is None:
            return await self.app(scope, receive, send)
        now = time.monotonic()
        answer = self.entries.get(key)
        if answer is not None and now >= answer.expires_at:
            answer = None  # it was right only until then
        age = now - answer.stored_at if answer is not None else None
        if answer is not None and age is not None and age < settings.MICROCACHE_TTL_MS / 1000:
            return await self._hit(answer, send, scope["path"])
        usable = answer if age is not None and age < settings.MICROCACHE_STALE_MS / 1000 else None
        waiting = self.pending.get(key)
        if waiting is not None:  # someone is already asking
            if usable is not None:
                return await self._hit(usable, send, scope["path"])
            shared = await asyncio.shield(waiting)
            if shared is not None:
                return await self._hit(shared, send, scope["path"])
            return await self.app(scope, receive, send)
        if self.refreshing >= settings.MICROCACHE_MAX_REFRESHING:
            # Enough refreshes run in this process already: serve what there is, or take the
            # ordinary way in (admission control may shed it).
            if usable is not None:
                return await self._hit(usable, send, scope["path"])
            return await self.app(scope, receive, send)
        future: asyncio.Future[Answer | None] = asyncio.get_running_loop().create_future()
        self.pending[key] = future  # before any await: one refresh per key
        self.refreshing += 1
        priority_scope = {**scope, PRIORITY: True}
        if usable is not None:  # served at once; the refresh runs behind it
            task = asyncio.create_task(self._refresh(key, future, priority_scope, _empty_body(), None))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return await self._hit(usable, send, scope["path"])
        await self._refresh(key, future, priority_scope, receive, send)

    async def _refresh(
        self,
        key: tuple[str, bytes, bytes],
        future: asyncio.Future[Answer | None],
        scope: Scope,
        receive: Receive,
        send: Send | None,
    ) -> None:
        try:
            fresh = await self._fetch(scope, receive, send)
            if fresh is not None:
                if len(self.entries) >= MAX_ENTRIES:
                    self.entries.clear()
                self.entries[key] = fresh
            future.set_result(fresh)
        except BaseException:
            future.set_result(None)
            if send is not None:
                raise
            logger.exception("micro-cache: refreshing %s failed", scope["path"])
        finally:
            self.refreshing -= 1
            if self.pending.get(key) is future:
                del self.pending[key]

    async def _hit(self, answer: Answer, send: Send, path: str) -> None:
        self.hits += 1
        refiner = self.refiners.get(path)
        if refiner is None:
            return await self._replay(answer, send, answer.body)
        try:
            body = refiner.body_for(answer)
        except Exception:  # a hint gone wrong must not cost the answer itself
            logger.exception("micro-cache: refining %s failed", path)
            body = answer.body
        await self._replay(answer, send, body)

    async def _fetch(self, scope: Scope, receive: Receive, send: Send | None) -> Answer | None:
        """Pass the request on (forwarding its answer as it comes, unless ``send`` is ``None``:
        a refresh behind a stale answer); returns it when it may be cached."""
        start: dict[str, Any] = {}
        chunks: list[bytes] = []
        cacheable = True
        until: list[float] = []

        async def capture(message: dict[str, Any]) -> None:
            nonlocal cacheable
            if message["type"] == "http.response.start":
                headers = [
                    (name, value) for name, value in message.get("headers") or [] if name.lower() != UNTIL_HEADER
                ]
                until.extend(
                    _epoch(value) for name, value in message.get("headers") or [] if name.lower() == UNTIL_HEADER
                )
                message = {**message, "headers": headers}
                start.update(message)
                if message["status"] != 200 or any(name.lower() == b"set-cookie" for name, _ in headers):
                    cacheable = False
            elif message["type"] == "http.response.body" and cacheable:
                chunks.append(message.get("body", b""))
                if sum(len(c) for c in chunks) > MAX_BODY:
                    cacheable = False
            if send is not None:
                await send(message)

        read_at = time.monotonic()
        await self.app(scope, receive, capture)
        if not cacheable or not start:
            return None
        stored_at = time.monotonic()
        expires_at = stored_at + (min(until) - time.time()) if until else float("inf")
        headers = list(start.get("headers") or [])
        return Answer(start["status"], headers, b"".join(chunks), stored_at, expires_at, read_at)

    @staticmethod
    async def _replay(answer: Answer, send: Send, body: bytes) -> None:
        age = str(int(time.monotonic() - answer.stored_at)).encode()
        headers = answer.headers
        if body is not answer.body:
            length = str(len(body)).encode()
            headers = [(name, length if name.lower() == b"content-length" else value) for name, value in headers]
        await send({"type": "http.response.start", "status": answer.status, "headers": [*headers, (b"age", age)]})
        await send({"type": "http.response.body", "body": body})
