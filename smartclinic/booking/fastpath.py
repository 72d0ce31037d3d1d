"""The booking request without Django's request stack, for the rush (ADR 0006).

``POST /api/v1/appointments`` with a bearer token and ``{"slot_id": ...}`` is what thousands of
students send the second slots open. Django's stack (request and response objects, eleven
middlewares, URL resolution, django-ninja's parsing, authentication and validation) costs more
CPU than the booking itself. ``BookingFastPath`` wraps the ASGI application: it reads such a
request in the event loop and runs the same code the API view runs (``book_for_caller``: rate
limits, token, member, slot, the booking with its Idempotency-Key) in a small pool of threads
of its own (``BOOKING_FAST_PATH_THREADS``, each keeping its database connection), then answers
with the same JSON, status and headers.

Anything else, and any request it cannot take as it stands (no bearer token, an unknown or
expired token, a body that is not exactly that object, a dependant), passes to Django
untouched, body included, so every error is Django's own. ``BOOKING_FAST_PATH=0`` turns it off.

``BookingJudge`` tells admission control (``core.admission``), while slots are selling out,
which bookings are worth a short wait for a place: those for a slot not known to be full.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils import translation
from django.utils.translation import trans_real

from smartclinic.booking import slot_marks
from smartclinic.booking.access import found_slot_or_not_found, slot_to_book_lookup
from smartclinic.booking.booking_request import BOOK_PATH, book_for_caller
from smartclinic.booking.errors import SlotFull
from smartclinic.core import fastjson
from smartclinic.core.actor import Actor
from smartclinic.core.asgi_body import read_body, replaying
from smartclinic.core.errors import ApplicationError, retry_later_for
from smartclinic.core.idempotency import key_is_valid
from smartclinic.core.middleware import request_id_from
from smartclinic.identity.errors import TokenExpired
from smartclinic.identity.services import token_authenticate_along

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]  # Django's handler types its own

MAX_BODY = 1024

logger = logging.getLogger(__name__)


def language_of(accept_language: str) -> str:
    """The UI language for an ``Accept-Language`` header, as ``LocaleMiddleware`` picks it
    (this path carries no language cookie and no language prefix)."""
    for code, _quality in trans_real.parse_accept_lang_header(accept_language):
        if code == "*":
            break
        try:
            return trans_real.get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def parse_booking(body: bytes) -> UUID | None:
    """The slot id of a body that is exactly ``{"slot_id": "<uuid>"}`` (``dependant_id`` null
    or absent); ``None`` for anything else, which Django then answers."""
    try:
        data = fastjson.decoded(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not set(data) <= {"slot_id", "dependant_id"}:
        return None
    if data.get("dependant_id") is not None or not isinstance(data.get("slot_id"), str):
        return None
    try:
        return UUID(data["slot_id"])
    except ValueError:
        return None


class BookingJudge:
    """For admission control (``ADMISSION_HOPEFUL_*``, ``core.admission.Judge``): which bookings
    are worth a short wait for a place rather than being turned away at once, while slots are
    selling out (``booking.slot_marks``): those for a slot this process does not know to be
    full. One for a full slot would only be refused; the places go first to bookings that can
    succeed (ADR 0006, session 16). Nor a body that is not the plain booking."""

    def judging(self) -> bool:
        return slot_marks.selling_out()

    def worth_a_wait(self, body: bytes) -> bool:
        slot_id = parse_booking(body)
        return slot_id is not None and not slot_marks.known_full(slot_id)


def book_request(
    *, token: str, slot_id: UUID, idempotency_key: str | None, language: str, address: str, request_id: str
) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]] | None:
    """Run in a worker thread: (status, body, extra headers), or ``None`` to leave the request
    to Django (an unknown, revoked or expired token: Django answers those)."""
    # This thread serves only this path: it keeps its database connection from one request to
    # the next (no trip to the pool each time), and drops it after an error, as Django would.
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with translation.override(language):
            try:
                # The token, the slot and the key's stored answer in one round trip (the slot is
                # only used once the token has passed and the rate limits too, as on Django's path).
                valid_key = idempotency_key if idempotency_key is not None and key_is_valid(idempotency_key) else None
                user, slot, stored = token_authenticate_along(
                    raw=token, lookup=slot_to_book_lookup(public_id=slot_id), idempotency_key=valid_key
                )
            except TokenExpired:
                return None
            if user is None:
                return None
            actor = Actor(user=user, request_id=request_id, client_ip=address or None)
            replay = stored is not None and stored.record is not None
            try:
                status, body = book_for_caller(
                    actor=actor,
                    user=user,
                    address=address or "unknown",
                    slot_id=slot_id,
                    dependant_id=None,
                    idempotency_key=idempotency_key,
                    slot_of=lambda _public_id: found_slot_or_not_found(slot),
                    stored_as_read=stored,
                )
            except ApplicationError as error:
                if isinstance(error, SlotFull):
                    slot_marks.learned(slot_id, at_most=0)
                return _answer_of(error)
            except DatabaseError as error:
                retry = retry_later_for(error)  # a deadlock or serialization failure: retryable
                if retry is None:
                    raise
                return _answer_of(retry)
            if status == 201 and not replay and slot is not None:
                # The slot was read before this booking took its place: now it has at most that
                # many less one. (A replay is not marked: its read may already count its place.)
                slot_marks.learned(slot_id, at_most=slot.capacity - slot.booked - 1)
            return status, body, []
    finally:
        _keep_or_drop(connection)


def _answer_of(error: ApplicationError) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
    retry_after = error.extra.get("retry_after")
    headers = [(b"retry-after", str(retry_after).encode())] if retry_after is not None else []
    return error.status, error.render(), headers


def _keep_or_drop(connection: Any) -> None:
    """Keep a healthy connection for the next request; drop one that is not (Django's
    ``close_if_unusable_or_obsolete`` without the age limit)."""
    if connection.connection is None:
        return
    if connection.in_atomic_block or connection.get_autocommit() != connection.settings_dict["AUTOCOMMIT"]:
        connection.close()
    elif connection.errors_occurred:
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            connection.close()


def lower_this_threads_priority() -> None:
    """Run this booking thread ``BOOKING_FAST_PATH_NICE`` nicer than the thread that started it
    (the event loop's; a thread inherits its creator's nice value). On two cores, in the rush's
    flood, the four event loops, their booking threads, PostgreSQL and the load client all want
    the CPU; as equals, a loop fell up to two seconds behind reading its connections, and every
    request on them waited that long, the admitted bookings too. Nicer booking threads leave
    the loops the CPU to read and answer at once (ADR 0006, session 18). Linux sets a nice
    value per thread; elsewhere this does nothing."""
    nice = settings.BOOKING_FAST_PATH_NICE
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + nice))
    except OSError:
        logger.warning("booking fast path: could not lower the priority of thread %d", thread, exc_info=True)


class BookingFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Its own threads (each with its own database connection), so that one booking's wait
        # for the commit does not hold up the next one in this process.
        self.threads = max(1, settings.BOOKING_FAST_PATH_THREADS)
        self._executor = ThreadPoolExecutor(
            max_workers=self.threads, thread_name_prefix="booking", initializer=lower_this_threads_priority
        )

    async def _book(self, **request: Any) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]] | None:
        # Straight to the pool, not through asgiref's ``sync_to_async``, which runs each call in a
        # copy of the request task's context: Django keeps ``caches`` in context variables, so
        # every booking built a new cache object. Here each thread keeps its own context from one
        # booking to the next; ``book_request`` takes everything it needs as arguments.
        call = functools.partial(book_request, **request)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        """Close every thread's database connection and stop the threads (shutdown, tests)."""
        barrier = threading.Barrier(self.threads, timeout=10)

        def close_mine() -> None:
            connections.close_all()
            barrier.wait()  # so that each thread takes exactly one of these

        for future in [self._executor.submit(close_mine) for _ in range(self.threads)]:
            future.result()
        self._executor.shutdown(wait=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == BOOK_PATH
            and settings.BOOKING_FAST_PATH
        ):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or ())
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, token = authorization.partition(" ")
        body, complete = await read_body(receive, limit=MAX_BODY)
        slot_id = parse_booking(body) if complete else None
        if scheme.lower() != "bearer" or not token.strip() or slot_id is None:
            return await self.app(scope, replaying(body, complete, receive), send)
        key = headers.get(b"idempotency-key")
        request_id = request_id_from(headers.get(b"x-request-id", b"").decode("latin-1"))
        client = scope.get("client") or ("", 0)
        language = language_of(headers.get(b"accept-language", b"").decode("latin-1"))
        answer = await self._book(
            token=token.strip(),
            slot_id=slot_id,
            idempotency_key=key.decode("latin-1") if key is not None else None,
            language=language,
            address=client[0] or "",
            request_id=request_id,
        )
        if answer is None:
            return await self.app(scope, replaying(body, complete, receive), send)
        status, payload, extra = answer
        content = fastjson.encoded(payload)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(content)).encode()),
                    (b"content-language", language.encode()),
                    (b"vary", b"Accept-Language, Authorization"),
                    (b"x-request-id", request_id.encode()),
                    (b"cache-control", b"no-store"),
                    (b"x-content-type-options", b"nosniff"),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})
