"""Admission control: under overload, answer the excess at once with 503 and ``Retry-After``.

Web workers serve a few requests at a time; the rest wait in a queue in front of them. When
more arrive than the workers can serve, that queue grows and every request waits longer, until
answers come too late to be of use and the clients' retries pile on. Admission control keeps
the work in progress bounded, so that admitted requests are served promptly, and tells the
rest at once to come back later (``Retry-After``, which the load client and the apps honour).
Only paths under ``ADMISSION_PATHS`` are shed (the rush endpoints: booking and the slot list);
the pages, the staff stations and the live streams pass untouched.

Under ASGI (uvicorn, the production server): ``AdmissionASGIMiddleware`` wraps the application
in ``config/asgi.py``. The event loop of each worker process reads every request as it
arrives, while Django's synchronous code runs one request at a time in the worker's thread;
the wrapper admits at most ``ADMISSION_MAX_IN_FLIGHT`` requests to these paths per process (the
one running and a few queued behind it) and answers the others 503 on the spot, in the event
loop, without entering Django: a shed costs a fraction of a millisecond however many arrive.
Its ``Retry-After`` places each shed client in a virtual queue served at the rate the process completes requests.
Under ``python -m smartclinic.serve`` a write it would shed is answered even earlier, by the
HTTP protocol before it becomes an ASGI task (``core.door``), with this layer's own answer, and
the workers share their places: the server admits ``ADMISSION_MAX_IN_FLIGHT`` per worker in
all, wherever the connections happen to land (``waiting_room_from_settings``).

Under WSGI (gunicorn's sync workers, or anything else): ``AdmissionMiddleware``, first in
``MIDDLEWARE``, sheds a request that has already waited in the queue (the listen backlog, the
proxy's upstream queue) longer than ``ADMISSION_MAX_QUEUE_MS``, as measured from the
``X-Request-Start`` header the reverse proxy stamps on arrival (the New Relic/Heroku
convention); nginx:

    proxy_set_header X-Request-Start "t=${msec}";

Seconds (``t=1700000000.123``), milliseconds or microseconds are understood, with or without
``t=``. Without the header (no proxy, e.g. ``runserver``) nothing is shed. A client can only
make its own request look older (and be shed) or newer (and not be): the header cannot be used
against anyone else. The queue budget works at moderate overload, but a sync worker must still
accept each request to shed it: in a flood far beyond what the workers can even reject, every
request is "late" by the time a worker sees it (the rush benchmark measured this; see the
README's Performance section). Requests the ASGI wrapper admitted are not checked again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _

from smartclinic.core.asgi_body import read_body, replaying
from smartclinic.core.shared_log import shared_directory
from smartclinic.core.shared_tally import SharedTally

logger = logging.getLogger("smartclinic.admission")

OVERLOADED_CODE = "core.overloaded"
PEAK_WINDOW = 30
ADMITTED = "smartclinic.admitted"
# Set by the micro-cache on its one refresh of a shared answer (smartclinic/core/microcache.py):
# never shed, or the cache would not fill in the rush it is for.
PRIORITY = "smartclinic.priority"


def request_start(header: str | None) -> float | None:
    """The proxy's arrival time (epoch seconds) from ``X-Request-Start``, or ``None``."""
    if not header:
        return None
    value = header.strip()
    if value.startswith("t="):
        value = value[2:]
    try:
        stamp = float(value)
    except ValueError:
        return None
    # Seconds now are ~1.7e9; milliseconds ~1.7e12; microseconds ~1.7e15.
    if stamp > 1e14:
        stamp /= 1_000_000
    elif stamp > 1e11:
        stamp /= 1000
    return stamp if stamp > 0 else None


def _message(language: str) -> str:
    with translation.override(language):
        return str(_("The service is busy right now. Try again in a moment."))


def overloaded_body(language: str, retry_after: int) -> bytes:
    body = {"code": OVERLOADED_CODE, "message": _message(language), "extra": {"retry_after": retry_after}}
    return json.dumps(body, ensure_ascii=False).encode()


class AdmissionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.max_wait = settings.ADMISSION_MAX_QUEUE_MS / 1000
        self.prefixes = tuple(settings.ADMISSION_PATHS)
        self.retry_after = max(1, int(settings.ADMISSION_RETRY_AFTER))
        self.shed_count = 0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scope = getattr(request, "scope", None)  # under ASGI: the wrapper below has admitted it
        if scope is not None and scope.get(ADMITTED):
            return self.get_response(request)
        if self.max_wait > 0 and request.path.startswith(self.prefixes):
            started = request_start(request.META.get("HTTP_X_REQUEST_START"))
            if started is not None:
                waited = time.time() - started
                if waited > self.max_wait:
                    return self.shed(request, waited)
        return self.get_response(request)

    def shed(self, request: HttpRequest, waited: float) -> HttpResponse:
        self.shed_count += 1
        if self.shed_count % 1000 == 1:
            logger.warning(
                "admission: shedding requests queued longer than %d ms (%d so far in this process; "
                "this one waited %d ms)",
                self.max_wait * 1000,
                self.shed_count,
                waited * 1000,
            )
        # Before the locale middleware: pick the language here, cheaply.
        body = overloaded_body(translation.get_language_from_request(request), self.retry_after)
        response = HttpResponse(body, status=503, content_type="application/json; charset=utf-8")
        response["Retry-After"] = str(self.retry_after)
        response["Cache-Control"] = "no-store"
        response._has_been_logged = True  # type: ignore[attr-defined]  # deliberate: no error line per shed
        return response


ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]
Send = Callable[[Any], Awaitable[None]]


class WaitingRoom:
    """At most ``places`` at a time; up to ``max_waiting`` more wait their turn in the event loop
    (costing nothing) for at most ``max_wait`` seconds; anyone beyond is turned away at once.

    A rush is a spike: the requests that wait a few hundred milliseconds are served as soon as
    a place frees, so the workers never idle between a shed and its return, while the wait
    (and with it the answer's latency) stays bounded. Created per process, used from its loop.

    Besides, up to ``hopeful_waiting`` requests judged worth it (``enter(hopeful=True)``: a
    booking that can still succeed) may wait for at most ``hopeful_wait`` seconds, in line with
    the others.

    With ``server`` (the worker processes' ``SharedTally``) the places are the server's as well:
    this process takes one only while the server as a whole has fewer than ``server_places``
    taken, and publishes how many it holds. A process's waiting line moves when one of its own
    places frees."""

    def __init__(
        self,
        places: int,
        *,
        max_waiting: int,
        max_wait: float,
        hopeful_waiting: int = 0,
        hopeful_wait: float = 0.0,
        server: SharedTally | None = None,
        server_places: int = 0,
    ) -> None:
        self.places = places
        self.max_waiting = max_waiting
        self.max_wait = max_wait
        self.hopeful_waiting = hopeful_waiting
        self.hopeful_wait = hopeful_wait
        self.server = server if server_places > 0 else None
        self.server_places = server_places
        self.inside = 0
        self.waiting = 0
        self.waiting_hopefully = 0
        self._line: deque[asyncio.Future[None]] = deque()

    async def enter(self, *, hopeful: bool = False) -> bool:
        if self.places <= 0:  # no limit
            self.inside += 1
            return True
        if self.taken():
            if self.may_wait():
                return await self._wait(self.max_wait, hopeful=False)
            if hopeful and self.may_wait(hopeful=True):
                return await self._wait(self.hopeful_wait, hopeful=True)
            return False
        self._take()
        return True

    def _room(self) -> bool:
        """Whether a place is free here (and in the server)."""
        if self.inside >= self.places:
            return False
        return self.server is None or self.server.others() + self.inside < self.server_places

    def _take(self) -> None:
        self.inside += 1
        if self.server is not None:
            self.server.set(self.inside)

    async def _wait(self, timeout: float, *, hopeful: bool) -> bool:
        """Wait in line for a place, counted among the hopeful or the others; in if one came
        (``_let_in`` took it for this one)."""
        turn = asyncio.get_running_loop().create_future()
        self._line.append(turn)
        self._count_waiting(1, hopeful=hopeful)
        try:
            await asyncio.wait_for(turn, timeout)
        except TimeoutError:
            return False
        finally:
            self._count_waiting(-1, hopeful=hopeful)
            if turn.cancelled() and turn in self._line:  # no place came; out of the line
                self._line.remove(turn)
        return True

    def _let_in(self) -> None:
        """Places to the first in line, while there are places."""
        while self._line and self._room():
            turn = self._line.popleft()
            if not turn.done():
                self._take()
                turn.set_result(None)

    def _count_waiting(self, change: int, *, hopeful: bool) -> None:
        if hopeful:
            self.waiting_hopefully += change
        else:
            self.waiting += change

    def may_wait(self, *, hopeful: bool = False) -> bool:
        """Whether one more may wait for a place (of the hopeful ones, with ``hopeful``)."""
        if hopeful:
            return self.hopeful_wait > 0 and self.waiting_hopefully < self.hopeful_waiting
        return self.max_wait > 0 and self.waiting < self.max_waiting

    def taken(self) -> bool:
        """Whether every place is taken (or promised to one waiting)."""
        return self.places > 0 and (bool(self._line) or not self._room())

    def full(self, *, hopeful: bool = False) -> bool:
        """Whether ``enter`` would turn the next one away at once (``hopeful``: if judged worth
        a wait)."""
        return self.taken() and not self.may_wait() and not (hopeful and self.may_wait(hopeful=True))

    def leave(self) -> None:
        self.inside -= 1
        if self.server is not None:
            self.server.set(self.inside)
        self._let_in()


class Shedder:
    """The 503 answer with ``Retry-After``, and how long to ask for (``retry_after``)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shed_count = 0
        self._bodies: dict[tuple[str, int], bytes] = {}
        # Sheds and completed admissions in the current and the last second.
        self._second = 0
        self._counts = [0, 0]
        self._last = (0, 0)
        self._next_return = 0.0  # when the last shed client was told to come back (monotonic)
        self._history: deque[tuple[int, int]] = deque(maxlen=PEAK_WINDOW + 1)  # (second, completed)
        self._peak = (-1, 0)  # (second, _peak_done() in it)
        self._spread = random.Random()  # noqa: S311 - spreading retries, not a secret

    def _count(self, index: int) -> None:
        second = int(time.monotonic())
        if second != self._second:
            self._last = (self._counts[0], self._counts[1]) if second == self._second + 1 else (0, 0)
            self._history.append((self._second, self._counts[1]))
            self._second, self._counts = second, [0, 0]
        self._counts[index] += 1

    def _peak_done(self) -> int:
        """The most requests completed in one second within the last ``PEAK_WINDOW`` seconds
        (the past seconds only: worked out once a second, not for each of thousands of sheds)."""
        second = int(time.monotonic())
        if self._peak[0] == second:
            return self._peak[1]
        horizon = second - PEAK_WINDOW
        while self._history and self._history[0][0] < horizon:
            self._history.popleft()
        peak = max((done for _, done in self._history), default=self._last[1])
        if second == self._second:  # the history is complete up to this second
            self._peak = (second, peak)
        return peak

    def served(self) -> None:
        self._count(1)

    def retry_after(self, minimum: int) -> int:
        """A place in a virtual queue: each shed client is told to come back 1/rate seconds
        after the one before (rate: the most requests this process completed in a second
        lately, or ``ADMISSION_QUEUE_RATE`` if more), so that they return about as fast as they
        can be served rather than all at once and into another shed. At least ``minimum``
        seconds.

        A queue longer than ``ADMISSION_RETRY_AFTER_MAX`` is not extended: the ones beyond are
        spread at random over the whole span. (Told the cap, they would all return in the same
        second, after a gap in which the workers idle: measured in the rush.)"""
        now = time.monotonic()
        cap = max(minimum, int(settings.ADMISSION_RETRY_AFTER_MAX))
        # The best rate of the last half minute: in a flood the current second's is depressed by
        # the flood itself, and a queue paced by it would leave the workers idle afterwards.
        # Nor can a flood show the rate: the first flood after a quiet spell has no better second
        # to learn from, so the operator's figure for it (ADMISSION_QUEUE_RATE) is a floor.
        rate = max(self._peak_done(), self._counts[1], int(settings.ADMISSION_QUEUE_RATE), 1)
        self._next_return = max(self._next_return + 1 / rate, now + minimum)
        if self._next_return - now > cap:
            self._next_return = now + cap
            return self._spread.randint(minimum, cap)
        return max(minimum, int(self._next_return - now))  # whole seconds; clients add jitter

    def answer(self, headers: dict[bytes, bytes], *, busy: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
        """The 503's headers and body for a request turned away now (counted as a shed)."""
        self.shed_count += 1
        self._count(0)
        if self.shed_count % 1000 == 1:
            logger.warning("%s: %d busy, shedding (%d so far in this process)", self.label, busy, self.shed_count)
        language = "en" if headers.get(b"accept-language", b"").lower().startswith(b"en") else settings.LANGUAGE_CODE
        retry_after = self.retry_after(max(1, int(settings.ADMISSION_RETRY_AFTER)))
        body = self._bodies.get((language, retry_after))
        if body is None:
            body = self._bodies[(language, retry_after)] = overloaded_body(language, retry_after)
        return [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(retry_after).encode()),
            (b"cache-control", b"no-store"),
        ], body

    async def shed(self, headers: dict[bytes, bytes], send: Send, *, busy: int) -> None:
        response_headers, body = self.answer(headers, busy=busy)
        await send({"type": "http.response.start", "status": 503, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})


# The slots in which the worker processes publish how many requests each has admitted.
ADMITTED_TALLY = "admitted"


def places_per_process() -> int:
    """The most requests one process admits at once (0: no limit): ``ADMISSION_MAX_IN_FLIGHT``
    alone; among the workers of ``python -m smartclinic.serve``, ``ADMISSION_WORKER_MAX_IN_FLIGHT``
    while the server as a whole has fewer than its share (``waiting_room_from_settings``)."""
    share = max(0, int(settings.ADMISSION_MAX_IN_FLIGHT))
    if share == 0 or shared_directory() is None:
        return share
    return max(share, int(settings.ADMISSION_WORKER_MAX_IN_FLIGHT))


def waiting_room_from_settings() -> WaitingRoom:
    """This process's room. Among several workers: the server admits ``ADMISSION_MAX_IN_FLIGHT``
    per worker in all, wherever they land, one worker up to ``places_per_process()`` of them
    (the kernel spreads connections, not requests: a few busy ones often share a worker while
    another idles, and places kept per worker would turn those away with the server half idle)."""
    share = max(0, int(settings.ADMISSION_MAX_IN_FLIGHT))
    shared = shared_directory() if share > 0 else None
    server = SharedTally.from_environment(name=ADMITTED_TALLY) if shared is not None else None
    return WaitingRoom(
        places_per_process(),
        max_waiting=max(0, int(settings.ADMISSION_MAX_WAITING)),
        max_wait=max(0, int(settings.ADMISSION_MAX_WAIT_MS)) / 1000,
        hopeful_waiting=max(0, int(settings.ADMISSION_HOPEFUL_WAITING)),
        hopeful_wait=max(0, int(settings.ADMISSION_HOPEFUL_WAIT_MS)) / 1000,
        server=server,
        server_places=share * shared[1] if shared is not None else 0,
    )


class Judge(Protocol):
    """Which requests to a path are worth a wait for a place (``AdmissionASGIMiddleware``)."""

    def judging(self) -> bool:
        """Whether there is anything to tell apart now (when not, nobody waits and no body is
        read ahead: cheap enough to ask for every request turned away at the door)."""
        ...

    def worth_a_wait(self, body: bytes) -> bool: ...


# The most of a body read to judge it (a booking is about 60 bytes).
JUDGED_BODY_LIMIT = 1024


def _judge_says(question: Callable[[], bool]) -> bool:
    """The judge's answer; no (no wait) when asking it fails: a hint gone wrong leaves the
    request treated as before."""
    try:
        return question()
    except Exception:
        logger.exception("admission: judging a request's body failed")
        return False


class AdmissionASGIMiddleware:
    """Pure ASGI: at most ``ADMISSION_MAX_IN_FLIGHT`` requests to ``ADMISSION_PATHS`` in this
    process at a time (0: no limit; among the server's workers, see
    ``waiting_room_from_settings``), up to ``ADMISSION_MAX_WAITING`` more waiting for a place
    for at most ``ADMISSION_MAX_WAIT_MS``; the rest get 503 from the event loop. Everything
    else passes straight through.

    A write to a path with a judge (``judges``: path -> ``Judge``) that finds every place taken,
    while the judge is judging (for bookings: while slots are known to be selling out), has its
    body read and judged: if the judge finds it worth it (a booking for a slot not known to be
    full), it may wait for a place among ``ADMISSION_HOPEFUL_WAITING`` others for at most
    ``ADMISSION_HOPEFUL_WAIT_MS``. Under a flood those few are waiting all the time, so each
    place that frees goes to a booking that can succeed rather than to one that would be
    refused; in the lulls between bursts such a booking gets in instead of going to the back of
    the virtual queue. The rest are shed at once, as before.

    No ``X-Request-Start`` budget here: in a flood the event loop itself falls behind, every
    request it reads is already "late", and shedding all of them would leave the workers idle.
    A request that finds a place, or one within the wait, is served (its wait is bounded); one
    that does not is answered at once."""

    def __init__(self, app: ASGIApp, *, judges: dict[str, Judge] | None = None) -> None:
        self.app = app
        self.judges = judges or {}
        self.shedder = Shedder("admission")
        self._room: WaitingRoom | None = None
        self._prefixes: tuple[str, ...] | None = None

    @property
    def room(self) -> WaitingRoom:
        if self._room is None:  # settings are ready only once the first request comes
            self._room = waiting_room_from_settings()
        return self._room

    @property
    def prefixes(self) -> tuple[str, ...]:
        """``ADMISSION_PATHS``, read once the first request comes (as ``room``)."""
        if self._prefixes is None:
            self._prefixes = tuple(settings.ADMISSION_PATHS)
        return self._prefixes

    @property
    def in_flight(self) -> int:
        return self.room.inside

    def retry_after(self, minimum: int) -> int:
        return self.shedder.retry_after(minimum)

    def _judge_of(self, scope: dict[str, Any]) -> Judge | None:
        """The judge of a write's body, when its path has one and it is judging now."""
        if scope["method"] in ("GET", "HEAD"):
            return None
        judge = self.judges.get(scope["path"])
        return judge if judge is not None and _judge_says(judge.judging) else None

    def door_answer(self, scope: dict[str, Any]) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
        """The 503 (headers, body) this layer would answer a write to one of its paths with,
        decided before the request has even become an ASGI task (``core.door``); ``None`` when
        it might be admitted, or might be served by the micro-cache in front (a read), or might
        be judged worth a wait once its body is read."""
        if scope["method"] in ("GET", "HEAD") or scope.get(PRIORITY):
            return None
        if not scope["path"].startswith(self.prefixes):
            return None
        room = self.room
        if not room.full():
            return None
        if not room.full(hopeful=True) and self._judge_of(scope) is not None:
            return None  # it may wait, if its body is judged worth it
        return self.shedder.answer(dict(scope.get("headers") or ()), busy=room.inside)

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if not scope["path"].startswith(self.prefixes):
            return await self.app(scope, receive, send)
        if scope.get(PRIORITY):
            scope[ADMITTED] = True  # not shed here, nor by the queue budget behind
            return await self.app(scope, receive, send)
        room = self.room
        hopeful = False
        if room.full() and not room.full(hopeful=True) and (judge := self._judge_of(scope)) is not None:
            body, complete = await read_body(receive, limit=JUDGED_BODY_LIMIT)
            receive = replaying(body, complete, receive)
            hopeful = complete and _judge_says(lambda: judge.worth_a_wait(body))
        if not await room.enter(hopeful=hopeful):
            return await self.shedder.shed(dict(scope.get("headers") or ()), send, busy=room.inside)
        scope[ADMITTED] = True  # its wait behind the others is bounded by the waiting room
        try:
            await self.app(scope, receive, send)
        finally:
            room.leave()
            self.shedder.served()
