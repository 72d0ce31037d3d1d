"""The least an HTTP booking can cost in Python on this machine (``bench/ceiling.py``).

A bare ASGI application that answers ``POST /api/v1/appointments`` with 201 after running the
server's own booking SQL, captured by ``bench/baseline.py capture`` (``CEILING_PLAN``): the
request's one read and the ``booking_book`` call, prepared as the server prepares them, each
booking a new person on a slot of the baseline's scenario. No rules, no rate limit, no Django
models: what is left is HTTP, the event loop and the driver. ``GET`` answers ``[]``.

``CEILING_MODE=async``: the SQL in the event loop through psycopg's async connections
(``CEILING_CONNECTIONS`` per worker). ``CEILING_MODE=threads``: through a pool of that many
threads, each with its own connection, as the booking fast path runs its bookings; with
``CEILING_WRAPPED=1`` behind the production server's own layers too (the micro-cache, admission
control, ``gc.freeze``), to be served with ``--http door``.

Not part of the application: run on demand by ``bench/ceiling.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import pickle
import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
from baseline import bound_params  # bench/ is on the path: ceiling.py serves this module from there

PLAN = pickle.loads(Path(os.environ["CEILING_PLAN"]).read_bytes())
DSN = os.environ["DATABASE_URL"]
CONNECTIONS = int(os.environ.get("CEILING_CONNECTIONS", "2"))
MODE = os.environ.get("CEILING_MODE", "async")
BOOKED = json.dumps(
    {
        "id": str(uuid.uuid4()),
        "status": "booked",
        "slot": {"id": str(uuid.uuid4()), "starts_at": "2026-11-27T08:00:00+08:00"},
        "department": "内科",
        "doctor": "王医生",
        "fee": 500,
    },
    ensure_ascii=False,
).encode()
_numbers = itertools.count()
_run = uuid.uuid4().hex[:8]


def _next_booking() -> list[tuple[str, list[Any], bool]]:
    """The statements of one booking (the reads, then the writes) for a new person."""
    number = next(_numbers)
    values = {
        **random.choice(PLAN["targets"]),
        "person_key": f"c:{_run}:{os.getpid()}:{number}",
        "appointment_uuid": uuid.uuid4(),
        "event_uuid": uuid.uuid4(),
        "key": f"ceiling-{_run}-{os.getpid()}-{number}",
    }
    writes = [(s["sql"], bound_params(s, values), bool(s.get("prepared"))) for s in PLAN["statements"]]
    return [*PLAN["reads"], *writes]


def _check(sql: str, rows: list[Any]) -> None:
    if "booking_book" in sql and rows[0][0] != "booked":
        raise RuntimeError(f"the booking function answered {rows[0][0]!r}")


class AsyncBookings:
    def __init__(self) -> None:
        self._free: asyncio.Queue[psycopg.AsyncConnection[Any]] | None = None

    async def _connections(self) -> asyncio.Queue[psycopg.AsyncConnection[Any]]:
        if self._free is None:
            free: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
            for _ in range(CONNECTIONS):
                free.put_nowait(
                    await psycopg.AsyncConnection.connect(
                        DSN, autocommit=True, prepare_threshold=PLAN["prepare_threshold"]
                    )
                )
            self._free = free
        return self._free

    async def __call__(self) -> None:
        free = await self._connections()
        conn = await free.get()
        try:
            async with conn.cursor() as cursor:
                for sql, params, prepared in _next_booking():
                    await cursor.execute(sql, params, prepare=prepared or None)
                    _check(sql, await cursor.fetchall())
        finally:
            free.put_nowait(conn)


class ThreadBookings:
    def __init__(self) -> None:
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=CONNECTIONS, thread_name_prefix="booking")

    def _book(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = psycopg.connect(DSN, autocommit=True, prepare_threshold=PLAN["prepare_threshold"])
        with conn.cursor() as cursor:
            for sql, params, prepared in _next_booking():
                cursor.execute(sql, params, prepare=prepared or None)
                _check(sql, cursor.fetchall())

    async def __call__(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, self._book)


book = AsyncBookings() if MODE == "async" else ThreadBookings()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["method"] == "POST":
        json.loads(body)
        await book()
        status, content = 201, BOOKED
    else:
        status, content = 200, b"[]"
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


if os.environ.get("CEILING_WRAPPED") == "1":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup(set_prefix=False)
    from smartclinic.core.admission import AdmissionASGIMiddleware
    from smartclinic.core.heap import freeze_startup_heap
    from smartclinic.core.microcache import MicroCache

    app = MicroCache(AdmissionASGIMiddleware(app))  # type: ignore[assignment]
    freeze_startup_heap()
