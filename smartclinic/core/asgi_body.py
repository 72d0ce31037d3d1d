"""Reading a request's body ahead of the application, and handing it on as if unread.

The booking fast path reads a booking's body to take it itself, and admission control reads it
to judge whether a booking is worth a wait (``core.admission``); either way the application
behind may still need the body, so it gets a ``receive`` that gives what was read first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]


async def read_body(receive: Receive, *, limit: int) -> tuple[bytes, bool]:
    """The body, or as much as came before it passed ``limit`` bytes; ``complete`` is false
    when there is more (or the client went away)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > limit:
            return b"".join(chunks), False


def replaying(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read, then the rest of the stream."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": not complete}
        return await receive()

    return replay
