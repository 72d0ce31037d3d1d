"""Slot lists kept in step with the bookings between two reads of the database (ADR 0006).

In a booking rush the slot list comes from the micro-cache (``core.microcache``), up to
``MICROCACHE_TTL_MS`` old, while the places go in hundreds a second: a student re-listing after
"slot full" was shown slots already taken, picked one, and was refused again (measured: about
half of these informed bookings in the rush's tail, and worse as the slots ran out).

The booking path knows better the moment it answers: after "slot full" the slot has no place
left; after a booking, at most the places it read less one. ``SlotMarks`` keeps these upper
bounds with the moment each was learned, and every worker process of the server shares them
through ``core.shared_log``. ``SlotListRefiner`` applies them to a cached slot list as it is
served: a slot whose bound is newer than the list's read from the database and lower than what
the list says is shown with that many places (and not bookable at none). The bounds only ever
lower what a list shows, and only until its next read: a place freed by a cancellation shows
from the next refresh on, as before. The booking itself still decides on the row.

Admission control asks the same marks (``known_full``, ``selling_out``) which bookings are worth
a wait for a place while slots sell out (``booking.fastpath.BookingJudge``).
"""

from __future__ import annotations

import struct
import threading
import time
from typing import Any, Protocol
from uuid import UUID

from django.conf import settings

from smartclinic.core import fastjson
from smartclinic.core.shared_log import SharedLog

RECORD = struct.Struct("<16sid")  # slot public id, at most this many places, when (monotonic)
MAX_MARKS = 20_000
# How long "full" counts as known for admission control (``known_full``, ``selling_out``): a
# cancellation may free a place since, so an older mark no longer says the slot is full.
FULL_KNOWN_FOR = 5.0


def useful_for() -> float:
    """Seconds a mark can matter: admission control asks whether a slot was full within
    ``FULL_KNOWN_FOR``, and a mark lowers a cached slot list read before it, served for up to
    ``MICROCACHE_STALE_MS``. Twice the longer: a list is read some time before it is stored (its
    refresh), and its age counts from the storing."""
    serves_lists_for = max(settings.MICROCACHE_TTL_MS, settings.MICROCACHE_STALE_MS) / 1000
    return 2 * max(FULL_KNOWN_FOR, serves_lists_for)


class CachedAnswer(Protocol):
    """A micro-cache answer (``core.microcache.Answer``) as the refiner reads it."""

    @property
    def body(self) -> bytes: ...

    @property
    def read_at(self) -> float: ...  # monotonic, before its reads of the database

    @property
    def scratch(self) -> dict[str, Any]: ...  # the refiner's own, per answer


class SlotMarks:
    """Upper bounds on slots' remaining places, by public id (as the slot list shows it)."""

    def __init__(self, shared: SharedLog | None = None) -> None:
        self.shared = shared
        self.bounds: dict[str, tuple[int, float]] = {}  # id -> (at most, learned at)
        self.version = 0  # changes whenever a bound does
        self.full_learned_at = float("-inf")  # when a slot was last learned to be full (monotonic)
        self._lock = threading.Lock()  # the booking threads and the event loop of one process

    def mark(self, public_id: UUID, at_most: int) -> None:
        """This process learned, now, that the slot has at most ``at_most`` places left."""
        at_most = max(at_most, 0)
        at = time.monotonic()
        self._note(str(public_id), at_most, at)
        if self.shared is not None:
            self.shared.append(RECORD.pack(public_id.bytes, at_most, at))

    def absorb(self) -> None:
        """Take in what the other worker processes learned since the last call, as far back as
        it can still matter (``useful_for``). A process that has not asked for a while (through
        a day's bookings and no slot list) would otherwise read the others' whole rings, some
        12,000 records, in its event loop the moment a rush starts (measured: 190-270 ms per
        worker in the release's first two seconds, every request on those loops waiting)."""
        if self.shared is None:
            return
        oldest_useful = time.monotonic() - useful_for()
        for record in self.shared.read_new(still_wanted=lambda record: RECORD.unpack(record)[2] >= oldest_useful):
            raw, at_most, at = RECORD.unpack(record)
            self._note(str(UUID(bytes=raw)), at_most, at)

    def full_since(self, public_id: UUID, since: float) -> bool:
        """Whether the slot was learned to have no place left at or after ``since`` (monotonic)."""
        known = self.bounds.get(str(public_id))
        return known is not None and known[0] == 0 and known[1] >= since

    def _note(self, key: str, at_most: int, at: float) -> None:
        with self._lock:
            known = self.bounds.get(key)
            if known is not None and known[1] >= at:
                return  # the newer one stands (a freed place shows in a newer bound)
            if len(self.bounds) >= MAX_MARKS:
                self._forget_oldest()
            self.bounds[key] = (at_most, at)
            self.version += 1
            if at_most == 0:
                self.full_learned_at = max(self.full_learned_at, at)

    def _forget_oldest(self) -> None:
        """Bounds older than any cached list are of no use: keep the newer half."""
        by_age = sorted(self.bounds.items(), key=lambda item: item[1][1])
        self.bounds = dict(by_age[len(by_age) // 2 :])


class SlotListRefiner:
    """What the micro-cache serves for a cached slot list: its body with the bounds applied
    (``body_for``). The body is parsed once per cached answer and written again only when a
    bound that concerns it changes; otherwise it is the same bytes."""

    def __init__(self, marks: SlotMarks) -> None:
        self.marks = marks

    def body_for(self, answer: CachedAnswer) -> bytes:
        marks = self.marks
        marks.absorb()
        state = answer.scratch
        if state.get("version") == marks.version:
            return state["body"]
        rows = state.get("rows")
        if rows is None:
            rows = state["rows"] = _rows_of(answer.body)
        applied = tuple(self._bound_for(row, answer.read_at) for row in rows)
        if applied != state.get("applied"):
            state["applied"] = applied
            state["body"] = _patched(rows, applied) if any(b is not None for b in applied) else answer.body
        state["version"] = marks.version
        return state["body"]

    def _bound_for(self, row: dict[str, Any], read_at: float) -> int | None:
        known = self.marks.bounds.get(row["id"])
        if known is None or known[1] < read_at or known[0] >= row["remaining"]:
            return None
        return known[0]


def _rows_of(body: bytes) -> list[dict[str, Any]]:
    """The slot list's rows, or none if it is not one (nothing to refine)."""
    try:
        rows = fastjson.decoded(body)
    except ValueError:
        return []
    if not isinstance(rows, list) or not all(
        isinstance(row, dict) and isinstance(row.get("id"), str) and isinstance(row.get("remaining"), int)
        for row in rows
    ):
        return []
    return rows


def _patched(rows: list[dict[str, Any]], bounds: tuple[int | None, ...]) -> bytes:
    shown = []
    for row, bound in zip(rows, bounds, strict=True):
        if bound is not None:
            row = {**row, "remaining": bound, "bookable": bool(row.get("bookable")) and bound > 0}
        shown.append(row)
    return fastjson.encoded(shown)


_process_marks: SlotMarks | None = None
_creating = threading.Lock()


def process_marks() -> SlotMarks:
    """This process's marks, shared with the server's other worker processes when it runs under
    ``python -m smartclinic.serve`` (``SMARTCLINIC_SHARED_DIR``)."""
    global _process_marks
    if _process_marks is None:
        with _creating:
            if _process_marks is None:
                _process_marks = SlotMarks(SharedLog.from_environment(name="slot-marks", record_size=RECORD.size))
    return _process_marks


def learned(public_id: UUID, *, at_most: int) -> None:
    """The booking path learned that a slot has at most ``at_most`` places left (now)."""
    if settings.SLOT_MARKS:
        process_marks().mark(public_id, at_most)


def known_full(public_id: UUID) -> bool:
    """Whether this process (or another worker of the server) learned within ``FULL_KNOWN_FOR``
    that the slot has no place left. False when the marks are turned off."""
    if not settings.SLOT_MARKS:
        return False
    marks = process_marks()
    marks.absorb()
    return marks.full_since(public_id, time.monotonic() - FULL_KNOWN_FOR)


def selling_out() -> bool:
    """Whether slots are selling out: some slot was learned to be full within ``FULL_KNOWN_FOR``
    (as far as this process has taken in what the others learned). False when turned off."""
    if not settings.SLOT_MARKS:
        return False
    return process_marks().full_learned_at >= time.monotonic() - FULL_KNOWN_FOR


def slot_list_refiner() -> SlotListRefiner | None:
    """For the micro-cache of ``/api/v1/slots`` (``config/asgi.py``); ``None`` when turned off."""
    return SlotListRefiner(process_marks()) if settings.SLOT_MARKS else None
