"""A micro-cache for public lists read by everyone at once (the slot list in a booking rush).

When slots open, every student re-lists the day's slots after each "slot full": thousands of
identical requests per second, each costing a query and a serialization. ``MicroCache`` keeps
a successful answer in the process for ``MICROCACHE_TTL_MS`` (half a second by default) and
collapses concurrent misses into one request (the others wait for its answer), as a reverse
proxy's ``proxy_cache_valid 200 1s; proxy_cache_lock on;`` would. The list can thus be that
much older than the database; the booking itself always decides on the row.

Only ``GET`` requests to ``MICROCACHE_PATHS`` (public endpoints: no per-user content) without
``Authorization`` or ``Cookie`` are cached, keyed by path, query string and ``Accept-Language``;
only 200 answers without ``Set-Cookie``. ``MICROCACHE_TTL_MS=0`` turns it off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_ENTRIES = 2048
MAX_BODY = 2 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    stored_at: float


class MicroCache:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.entries: dict[tuple[str, bytes, bytes], Answer] = {}
        self.pending: dict[tuple[str, bytes, bytes], asyncio.Future[Answer | None]] = {}
        self.hits = 0

    def _key(self, scope: Scope) -> tuple[str, bytes, bytes] | None:
        if scope["type"] != "http" or scope["method"] != "GET" or settings.MICROCACHE_TTL_MS <= 0:
            return None
        if not scope["path"].startswith(tuple(settings.MICROCACHE_PATHS)):
            return None
        headers = dict(scope.get("headers") or ())
        if b"authorization" in headers or b"cookie" in headers:
            return None
        return scope["path"], scope.get("query_string", b""), headers.get(b"accept-language", b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope)
        if key is None:
            return await self.app(scope, receive, send)
        ttl = settings.MICROCACHE_TTL_MS / 1000
        answer = self.entries.get(key)
        if answer is not None and time.monotonic() - answer.stored_at < ttl:
            self.hits += 1
            return await self._replay(answer, send)
        waiting = self.pending.get(key)
        if waiting is not None:  # someone is already asking: share their answer
            shared = await asyncio.shield(waiting)
            if shared is not None:
                self.hits += 1
                return await self._replay(shared, send)
            return await self.app(scope, receive, send)
        future: asyncio.Future[Answer | None] = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        try:
            answer = await self._fetch(scope, receive, send)
            if answer is not None:
                if len(self.entries) >= MAX_ENTRIES:
                    self.entries.clear()
                self.entries[key] = answer
            future.set_result(answer)
        except BaseException:
            future.set_result(None)
            raise
        finally:
            del self.pending[key]

    async def _fetch(self, scope: Scope, receive: Receive, send: Send) -> Answer | None:
        """Pass the request on, forwarding its answer as it comes; returns it when it may be
        cached."""
        start: dict[str, Any] = {}
        chunks: list[bytes] = []
        cacheable = True

        async def capture(message: dict[str, Any]) -> None:
            nonlocal cacheable
            if message["type"] == "http.response.start":
                start.update(message)
                headers = message.get("headers") or []
                if message["status"] != 200 or any(name.lower() == b"set-cookie" for name, _ in headers):
                    cacheable = False
            elif message["type"] == "http.response.body" and cacheable:
                chunks.append(message.get("body", b""))
                if sum(len(c) for c in chunks) > MAX_BODY:
                    cacheable = False
            await send(message)

        await self.app(scope, receive, capture)
        if not cacheable or not start:
            return None
        return Answer(start["status"], list(start.get("headers") or []), b"".join(chunks), time.monotonic())

    @staticmethod
    async def _replay(answer: Answer, send: Send) -> None:
        age = str(int(time.monotonic() - answer.stored_at)).encode()
        await send(
            {"type": "http.response.start", "status": answer.status, "headers": [*answer.headers, (b"age", age)]}
        )
        await send({"type": "http.response.body", "body": answer.body})
