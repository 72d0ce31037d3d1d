"""Slot lists kept in step with the bookings: upper bounds learned by the booking path, shared
by the worker processes and applied to the cached lists they serve."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from smartclinic.booking import slot_marks
from smartclinic.booking.slot_marks import SlotListRefiner, SlotMarks
from smartclinic.core.microcache import MicroCache
from smartclinic.core.shared_log import SharedLog
from smartclinic.core.testing import asgi_get


@dataclass
class Cached:
    body: bytes
    read_at: float
    scratch: dict[str, Any] = field(default_factory=dict)


def _listing(*remaining: int) -> tuple[list[str], bytes]:
    ids = [str(uuid.uuid4()) for _ in remaining]
    rows = [
        {"id": i, "remaining": r, "bookable": r > 0, "doctor_name": "王医生"}
        for i, r in zip(ids, remaining, strict=True)
    ]
    return ids, json.dumps(rows).encode()


def _shown(body: bytes) -> list[tuple[int, bool]]:
    return [(row["remaining"], row["bookable"]) for row in json.loads(body)]


def test_a_bound_learned_after_the_list_was_read_lowers_what_it_shows():
    marks = SlotMarks()
    ids, body = _listing(1, 3, 2)
    cached = Cached(body, read_at=time.monotonic())
    marks.mark(uuid.UUID(ids[0]), 0)  # "slot full"
    marks.mark(uuid.UUID(ids[1]), 1)  # booked, with two left as read before: at most one now

    shown = SlotListRefiner(marks).body_for(cached)

    assert _shown(shown) == [(0, False), (1, True), (2, True)]
    assert json.loads(shown)[0]["doctor_name"] == "王医生"  # the rest as it was


def test_bounds_older_than_the_list_or_above_it_change_nothing():
    marks = SlotMarks()
    ids, body = _listing(1, 2)
    marks.mark(uuid.UUID(ids[0]), 0)  # learned before the list was read: the list knows better
    cached = Cached(body, read_at=time.monotonic())
    marks.mark(uuid.UUID(ids[1]), 5)  # only ever lowers

    assert SlotListRefiner(marks).body_for(cached) is body


def test_the_body_is_written_again_only_when_a_bound_that_concerns_it_changes():
    marks = SlotMarks()
    refiner = SlotListRefiner(marks)
    ids, body = _listing(2, 2)
    cached = Cached(body, read_at=time.monotonic())
    marks.mark(uuid.UUID(ids[0]), 1)
    first = refiner.body_for(cached)

    assert refiner.body_for(cached) is first  # nothing new
    marks.mark(uuid.uuid4(), 0)  # another list's slot
    assert refiner.body_for(cached) is first
    marks.mark(uuid.UUID(ids[1]), 0)
    assert _shown(refiner.body_for(cached)) == [(1, True), (0, False)]


def test_the_newest_bound_of_a_slot_stands():
    marks = SlotMarks()
    slot = uuid.uuid4()
    marks.mark(slot, 0)
    marks.mark(slot, 2)  # a place freed and booked since: the newer one is right

    assert marks.bounds[str(slot)][0] == 2
    marks._note(str(slot), 0, at=0.0)  # an older one arriving late (from another process)
    assert marks.bounds[str(slot)][0] == 2


def test_what_one_worker_learns_reaches_the_lists_another_serves(tmp_path):
    def worker() -> SlotMarks:
        return SlotMarks(SharedLog(tmp_path, name="slot-marks", rings=2, record_size=slot_marks.RECORD.size))

    booking_worker, listing_worker = worker(), worker()
    ids, body = _listing(1, 1)
    cached = Cached(body, read_at=time.monotonic())
    booking_worker.mark(uuid.UUID(ids[1]), 0)

    assert _shown(SlotListRefiner(listing_worker).body_for(cached)) == [(1, True), (0, False)]


def test_a_worker_that_has_not_looked_for_a_while_takes_in_only_what_can_still_matter(tmp_path):
    def worker() -> SlotMarks:
        return SlotMarks(SharedLog(tmp_path, name="slot-marks", rings=2, record_size=slot_marks.RECORD.size))

    booking_worker, idle_worker = worker(), worker()
    assert booking_worker.shared is not None
    now = time.monotonic()
    stale, recent = uuid.uuid4(), uuid.uuid4()
    for slot, at in ((stale, now - slot_marks.useful_for() - 1), (recent, now - 1)):
        booking_worker.shared.append(slot_marks.RECORD.pack(slot.bytes, 0, at))

    idle_worker.absorb()

    # The old mark could lower no list still served, nor say "full" to admission control:
    # left unread, as the whole day's others would be.
    assert set(idle_worker.bounds) == {str(recent)}
    assert slot_marks.useful_for() >= max(slot_marks.FULL_KNOWN_FOR, 5.0)  # the default stale window


def test_an_answer_that_is_not_a_slot_list_is_served_as_it_is():
    marks = SlotMarks()
    marks.mark(uuid.uuid4(), 0)
    for body in (b"not json", b'{"code": "x"}', b'[{"id": 1}]'):
        assert SlotListRefiner(marks).body_for(Cached(body, read_at=0.0)) is body


def test_the_micro_cache_serves_the_refined_list_with_its_length(settings):
    settings.MICROCACHE_PATHS = ["/api/v1/slots"]
    settings.MICROCACHE_TTL_MS = 60_000
    marks = SlotMarks()
    ids, body = _listing(1, 1)

    async def origin(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    app = MicroCache(origin, refiners={"/api/v1/slots": SlotListRefiner(marks)})
    scope = {"type": "http", "method": "GET", "path": "/api/v1/slots", "query_string": b"", "headers": []}

    async def scenario() -> list[tuple[int, bytes, dict[bytes, bytes]]]:
        first = await asgi_get(app, scope)
        marks.mark(uuid.UUID(ids[0]), 0)
        return [first, await asgi_get(app, scope)]

    (_, first, _), (status, refined, headers) = asyncio.run(scenario())

    assert first == body and status == 200
    assert _shown(refined) == [(0, False), (1, True)]
    assert headers[b"content-length"] == str(len(refined)).encode()


def test_turned_off_there_is_no_refiner(settings):
    settings.SLOT_MARKS = False
    assert slot_marks.slot_list_refiner() is None
    settings.SLOT_MARKS = True
    assert isinstance(slot_marks.slot_list_refiner(), SlotListRefiner)


def test_a_refiner_that_fails_costs_the_hint_not_the_answer(settings, caplog):
    settings.MICROCACHE_PATHS = ["/api/v1/slots"]
    settings.MICROCACHE_TTL_MS = 60_000
    _ids, body = _listing(1)

    async def origin(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    class Broken:
        def body_for(self, answer: Any) -> bytes:
            raise RuntimeError("broken")

    app = MicroCache(origin, refiners={"/api/v1/slots": Broken()})
    scope = {"type": "http", "method": "GET", "path": "/api/v1/slots", "query_string": b"", "headers": []}

    async def twice() -> list[tuple[int, bytes, dict[bytes, bytes]]]:
        return [await asgi_get(app, scope), await asgi_get(app, scope)]

    _first, (status, served, _headers) = asyncio.run(twice())

    assert status == 200 and served == body  # from memory, as it was read
    assert "refining /api/v1/slots failed" in caplog.text
