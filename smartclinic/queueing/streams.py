"""Server-Sent Events for the waiting-room screens, the stations and the patients' phones.

A stream is a *scope* (which events it may see, which bus channels wake it) run by one loop:

    subscribe → send ``retry:`` → loop { read QueueEvent rows after the cursor → send them;
    wait for a wake-up (bus), a poll tick or the heartbeat } → unsubscribe

Every frame's ``id:`` is the ``QueueEvent.id``, so a client that reconnects (EventSource does it
by itself and sends ``Last-Event-ID``) gets exactly what it missed. The subscription is made
before the first read, so no wake-up can fall between the read and the wait.

Under ASGI (uvicorn) the loop is an async generator: the connection costs no thread, database
reads run in the executor and give their connection back at once, and a client that goes away
cancels the generator (Django >= 5.0). Under WSGI (``runserver``, the test live server) the same
loop runs as a plain generator in the request's thread: fine for development, not for a floor of
screens.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections, connection
from django.db.models import Max, Q
from django.http import HttpRequest, StreamingHttpResponse

from smartclinic.core import clock
from smartclinic.queueing import bus
from smartclinic.queueing.boards import screen_event_payload, ticket_progress
from smartclinic.queueing.models import QueueEvent, Screen, Ticket

BATCH = 100
logger = logging.getLogger(__name__)


@dataclass
class Frame:
    data: dict[str, Any]
    id: int | None = None


@dataclass
class Batch:
    frames: list[Frame]
    cursor: int
    more: bool = False
    ended: bool = False


def encode(frame: Frame) -> bytes:
    lines = []
    if frame.id is not None:
        lines.append(f"id: {frame.id}")
    lines.append("data: " + json.dumps(frame.data, ensure_ascii=False, separators=(",", ":"), default=str))
    return ("\n".join(lines) + "\n\n").encode()


class Scope:
    """What one stream may see. ``fetch`` runs in a thread and may touch the database."""

    poll_seconds: float = 3.0

    def channels(self) -> set[str]:
        raise NotImplementedError

    def fetch(self, cursor: int) -> Batch:
        raise NotImplementedError

    def first(self, cursor: int) -> list[Frame]:
        """Frames sent once at the start (before anything new)."""
        return []


@dataclass
class EventScope(Scope):
    """Queue events as they are, filtered by department or doctor (screens, stations)."""

    department_ids: list[int] | None = None
    doctor_id: int | None = None
    public: bool = False
    screen_id: int | None = None
    poll_seconds: float = field(default_factory=lambda: settings.QUEUE_STREAM_POLL_SECONDS)

    def channels(self) -> set[str]:
        if self.doctor_id is not None:
            return {f"doctor:{self.doctor_id}"}
        if self.department_ids is not None:
            return {f"dept:{d}" for d in self.department_ids}
        return {bus.ALL}

    def fetch(self, cursor: int) -> Batch:
        if self.screen_id is not None and not Screen.objects.filter(pk=self.screen_id, active=True).exists():
            return Batch(frames=[], cursor=cursor, ended=True)  # switched off or re-keyed meanwhile
        events = QueueEvent.objects.filter(id__gt=cursor).order_by("id")
        if self.doctor_id is not None:
            events = events.filter(doctor_id=self.doctor_id)
        elif self.department_ids is not None:
            events = events.filter(department_id__in=self.department_ids)
        rows = list(events.select_related("ticket")[:BATCH])
        now = clock.now()
        frames = [Frame(id=e.pk, data=self._payload(e, now)) for e in rows]
        return Batch(frames=frames, cursor=rows[-1].pk if rows else cursor, more=len(rows) == BATCH)

    def _payload(self, event: QueueEvent, now: dt.datetime) -> dict[str, Any]:
        if self.public:
            return screen_event_payload(event, now=now)
        return {
            "kind": event.kind,
            "ticket": str(event.ticket.public_id),
            "doctor": event.doctor_id,
            "at": event.created_at.isoformat(),
            **(event.data or {}),
        }


@dataclass
class TicketScope(Scope):
    """One patient's ticket: a fresh summary (status, ahead, wait) whenever the ticket or its
    doctor's line moves. Other patients' events are never sent, only counted."""

    ticket_id: int
    doctor_id: int
    poll_seconds: float = field(default_factory=lambda: max(settings.QUEUE_STREAM_POLL_SECONDS, 10.0))
    last: dict[str, Any] | None = None

    def channels(self) -> set[str]:
        return {f"ticket:{self.ticket_id}", f"doctor:{self.doctor_id}"}

    def _summary(self) -> dict[str, Any]:
        ticket = Ticket.objects.select_related("session").get(pk=self.ticket_id)
        self.doctor_id = ticket.doctor_id  # a transfer moves the ticket to another line
        progress = ticket_progress(ticket=ticket)
        return {
            "kind": "ticket",
            "code": progress.code,
            "status": progress.status,
            "status_display": progress.status_display,
            "ahead": progress.ahead,
            "eta_minutes": progress.eta_minutes,
            "room": progress.room,
            "doctor": progress.doctor,
            "called": progress.called,
        }

    def first(self, cursor: int) -> list[Frame]:
        self.last = self._summary()
        return [Frame(data=self.last)]

    def fetch(self, cursor: int) -> Batch:
        newest = (
            QueueEvent.objects.filter(id__gt=cursor)
            .filter(Q(ticket_id=self.ticket_id) | Q(doctor_id=self.doctor_id))
            .aggregate(newest=Max("id"))["newest"]
        )
        if newest is None:
            return Batch(frames=[], cursor=cursor)
        summary = self._summary()
        frames = [Frame(id=newest, data=summary)] if summary != self.last else []
        self.last = summary
        return Batch(frames=frames, cursor=newest)


def _release_connection() -> None:
    """A stream lives for minutes: between reads it holds no database connection (it goes back
    to the pool, or is closed with CONN_MAX_AGE=0). Never inside a transaction (tests)."""
    if not connection.in_atomic_block:
        close_old_connections()


def _fetch(scope: Scope, cursor: int) -> Batch:
    """One read; a failing database ends the stream (the client reconnects and replays from its
    last id) instead of breaking the connection with a traceback."""
    try:
        return scope.fetch(cursor)
    except Exception as exc:  # noqa: BLE001 - logged; the client's reconnect is the retry
        logger.warning("queue stream ended: %s: %s", type(exc).__name__, exc)
        return Batch(frames=[], cursor=cursor, ended=True)
    finally:
        _release_connection()


def _first(scope: Scope, cursor: int) -> list[Frame]:
    try:
        return scope.first(cursor)
    finally:
        _release_connection()


def _prelude() -> bytes:
    # The padding gets the stream past buffers of old proxies and browsers at once.
    return f"retry: {settings.QUEUE_STREAM_RETRY_MS}\n: {' ' * 2048}\n\n".encode()


async def _run_async(scope: Scope, cursor: int) -> AsyncIterator[bytes]:
    subscriber = await bus.subscribe_async(scope.channels())
    heartbeat = settings.QUEUE_STREAM_HEARTBEAT_SECONDS
    try:
        yield _prelude()
        for frame in await sync_to_async(_first, thread_sensitive=False)(scope, cursor):
            yield encode(frame)
        started = time.monotonic()
        next_beat = started + heartbeat
        while True:
            subscriber.clear()
            batch = await sync_to_async(_fetch, thread_sensitive=False)(scope, cursor)
            cursor = batch.cursor
            if subscriber.channels != scope.channels():
                bus.hub.listen(subscriber, scope.channels())
            for frame in batch.frames:
                yield encode(frame)
            now = time.monotonic()
            if batch.frames:
                next_beat = now + heartbeat
            if batch.ended or now - started > settings.QUEUE_STREAM_MAX_SECONDS:
                return
            if batch.more:
                continue
            if now >= next_beat:
                yield b": ping\n\n"
                next_beat = now + heartbeat
            await subscriber.wait(max(min(scope.poll_seconds, next_beat - now), 0.05))
    finally:
        await bus.unsubscribe_async(subscriber)


def _run_sync(scope: Scope, cursor: int) -> Iterator[bytes]:
    subscriber = bus.subscribe_sync(scope.channels())
    try:
        yield _prelude()
        for frame in _first(scope, cursor):
            yield encode(frame)
        started = time.monotonic()
        while True:
            subscriber.clear()
            batch = _fetch(scope, cursor)
            cursor = batch.cursor
            if subscriber.channels != scope.channels():
                bus.hub.listen(subscriber, scope.channels())
            for frame in batch.frames:
                yield encode(frame)
            if batch.ended or time.monotonic() - started > settings.QUEUE_STREAM_MAX_SECONDS:
                return
            if batch.more:
                continue
            subscriber.wait(min(scope.poll_seconds, settings.QUEUE_STREAM_HEARTBEAT_SECONDS))
            # A thread learns that its client left only when a write fails: write on every tick,
            # before the next read, so a departed client costs no more database reads.
            yield b": ping\n\n"
    finally:
        bus.unsubscribe_sync(subscriber)


def last_event_id(request: HttpRequest) -> int:
    """The client's cursor: the ``Last-Event-ID`` header of a reconnect, or ``?last_id=`` that
    the page put in the stream's URL when it was rendered (the larger wins)."""
    candidates = [request.headers.get("Last-Event-ID", ""), request.GET.get("last_id", "")]
    values = [int(v) for v in candidates if v.strip().isdigit()]
    return max(values, default=0)


def sse_response(request: HttpRequest, scope: Scope) -> StreamingHttpResponse:
    cursor = last_event_id(request)
    body: AsyncIterator[bytes] | Iterator[bytes]
    body = _run_async(scope, cursor) if isinstance(request, ASGIRequest) else _run_sync(scope, cursor)
    response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response
