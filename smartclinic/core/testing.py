"""Helpers for tests: real concurrent database clients, and an ASGI request driven by hand."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connection

T = TypeVar("T")


def run_concurrently(calls: Sequence[Callable[[], T]], *, timeout: float = 60) -> list[T | BaseException]:
    """Run each call in its own thread (its own database connection), all released together.

    Returns each call's result or the exception it raised, in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | BaseException:
        try:
            barrier.wait(timeout=timeout)
            return call()
        except BaseException as exc:  # noqa: BLE001 - the caller inspects what each client got
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=timeout) for future in futures]


def outcome_names(results: Sequence[Any]) -> list[str]:
    return [type(result).__name__ for result in results]


async def asgi_get(app: Any, scope: dict[str, Any]) -> tuple[int, bytes, dict[bytes, bytes]]:
    """Send one request to an ASGI application as a server would (the body, then only a
    disconnect): its status, body and response headers."""
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            await asyncio.sleep(3600)
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]), dict(sent[0]["headers"])
