"""Admission control: a request that queued too long is answered 503 + Retry-After at once."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from smartclinic.core.admission import AdmissionMiddleware, request_start


@pytest.fixture
def admission(settings):
    settings.ADMISSION_MAX_QUEUE_MS = 50
    settings.ADMISSION_PATHS = ["/api/v1/appointments", "/api/v1/slots"]
    settings.ADMISSION_RETRY_AFTER = 2
    calls = []

    def view(request):
        calls.append(request.path)
        return HttpResponse("served")

    return AdmissionMiddleware(view), calls


def _post(path: str = "/api/v1/appointments", **headers: str):
    return RequestFactory().post(path, data="{}", content_type="application/json", **headers)


def test_a_request_that_waited_too_long_is_shed_with_retry_after(admission):
    middleware, calls = admission
    queued_since = time.time() - 0.2  # 200 ms in the queue, the budget is 50 ms

    response = middleware(_post(HTTP_X_REQUEST_START=f"t={queued_since:.3f}"))

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    body = json.loads(response.content)
    assert body["code"] == "core.overloaded"
    assert body["extra"] == {"retry_after": 2}
    assert body["message"]
    assert calls == []  # the view never ran


def test_a_fresh_request_is_served(admission):
    middleware, calls = admission
    response = middleware(_post(HTTP_X_REQUEST_START=f"t={time.time():.3f}"))
    assert response.status_code == 200
    assert calls == ["/api/v1/appointments"]


def test_without_the_proxy_header_nothing_is_shed(admission):
    middleware, calls = admission
    assert middleware(_post()).status_code == 200
    assert middleware(_post(HTTP_X_REQUEST_START="garbage")).status_code == 200
    assert len(calls) == 2


def test_only_the_rush_paths_are_shed(admission):
    middleware, calls = admission
    old = f"t={time.time() - 5:.3f}"
    assert middleware(_post("/api/v1/slots", HTTP_X_REQUEST_START=old)).status_code == 503
    assert middleware(_post("/staff/queue/", HTTP_X_REQUEST_START=old)).status_code == 200
    assert calls == ["/staff/queue/"]


def test_shedding_can_be_turned_off(settings):
    settings.ADMISSION_MAX_QUEUE_MS = 0
    middleware = AdmissionMiddleware(lambda request: HttpResponse("served"))
    assert middleware(_post(HTTP_X_REQUEST_START=f"t={time.time() - 60:.3f}")).status_code == 200


def test_the_message_follows_accept_language(admission):
    middleware, _ = admission
    old = f"t={time.time() - 1:.3f}"
    english = json.loads(middleware(_post(HTTP_X_REQUEST_START=old, HTTP_ACCEPT_LANGUAGE="en")).content)
    assert english["message"] == "The service is busy right now. Try again in a moment."


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("t=1700000000.250", 1700000000.25),  # nginx: "t=${msec}"
        ("1700000000.250", 1700000000.25),
        ("t=1700000000250", 1700000000.25),  # milliseconds
        ("t=1700000000250000", 1700000000.25),  # microseconds (Heroku, New Relic)
        ("", None),
        (None, None),
        ("t=soon", None),
        ("t=-5", None),
    ],
)
def test_request_start_formats(header, expected):
    assert request_start(header) == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.django_db
def test_the_booking_api_sheds_before_any_database_work(api, django_assert_num_queries):
    client = api()
    old = f"t={time.time() - 10:.3f}"
    with django_assert_num_queries(0):
        response = client.post("/appointments", {"slot_id": "00000000-0000-0000-0000-000000000000"},
                               HTTP_X_REQUEST_START=old)  # fmt: skip
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.data["code"] == "core.overloaded"


# --- under ASGI: the in-flight limit, in the event loop -------------------------------------


def _scope(path: str = "/api/v1/appointments", language: bytes = b"en") -> dict:
    return {"type": "http", "method": "POST", "path": path, "headers": [(b"accept-language", language)]}


async def _call(app, scope):
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent


def test_asgi_admits_up_to_the_limit_per_process_and_sheds_the_rest_at_once(settings):
    import asyncio

    from smartclinic.core.admission import AdmissionASGIMiddleware

    settings.ADMISSION_MAX_IN_FLIGHT = 2
    settings.ADMISSION_MAX_WAITING = 0  # no waiting room: the third is shed at once
    settings.ADMISSION_RETRY_AFTER = 1
    settings.ADMISSION_RETRY_AFTER_MAX = 1
    release = asyncio.Event()
    served = []

    async def slow_app(scope, receive, send):
        served.append(scope["path"])
        assert bool(scope.get("smartclinic.admitted")) is scope["path"].startswith("/api/")
        await release.wait()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = AdmissionASGIMiddleware(slow_app)

    async def scenario():
        first = asyncio.create_task(_call(app, _scope()))
        second = asyncio.create_task(_call(app, _scope()))
        await asyncio.sleep(0.01)
        assert app.in_flight == 2
        shed = await asyncio.wait_for(_call(app, _scope()), timeout=1)  # answered without waiting
        other = asyncio.create_task(_call(app, _scope("/staff/queue/")))  # not a rush path: passes
        await asyncio.sleep(0.01)
        release.set()
        done = await asyncio.gather(first, second, other)
        return shed, done

    shed, done = asyncio.run(scenario())
    start = shed[0]
    assert start["status"] == 503
    assert dict(start["headers"])[b"retry-after"] == b"1"
    body = json.loads(shed[1]["body"])
    assert body["code"] == "core.overloaded"
    assert body["message"] == "The service is busy right now. Try again in a moment."
    assert [messages[0]["status"] for messages in done] == [201, 201, 201]
    assert served == ["/api/v1/appointments", "/api/v1/appointments", "/staff/queue/"]
    assert app.in_flight == 0


@pytest.fixture
def still_clock(monkeypatch):
    """Admission's clock stopped: a virtual queue's waits are whole seconds from *now*, and a
    slow box's clock moves on during a test's thousand calls, moving a wait across a second."""
    from smartclinic.core import admission

    monkeypatch.setattr(admission, "time", SimpleNamespace(monotonic=lambda: 1000.0, time=time.time))


def test_asgi_retry_after_queues_shed_clients_at_the_rate_requests_complete(settings, still_clock):
    from smartclinic.core.admission import AdmissionASGIMiddleware

    settings.ADMISSION_RETRY_AFTER_MAX = 30
    settings.ADMISSION_QUEUE_RATE = 0  # learned only
    app = AdmissionASGIMiddleware(None)
    app.shedder._last = (0, 1000)  # a fast process: many come back within the first second
    assert {app.retry_after(1) for _ in range(50)} == {1}
    app = AdmissionASGIMiddleware(None)
    app.shedder._last = (400, 20)  # twenty completed a second: one more second per 20 shed
    waits = [app.retry_after(1) for _ in range(200)]
    assert waits == sorted(waits) and waits[0] == 1 and waits[-1] == 10
    assert waits.count(5) == 20
    beyond = [app.retry_after(1) for _ in range(2000)]  # the queue is past the cap now
    assert max(beyond) == 30  # never past the cap
    # spread over the whole span, not all at the cap (they would come back together)
    assert len(set(beyond)) == 30 and beyond.count(30) < 200


def test_the_operators_queue_rate_is_a_floor_under_the_learned_one(settings, still_clock):
    from smartclinic.core.admission import AdmissionASGIMiddleware

    settings.ADMISSION_RETRY_AFTER_MAX = 60
    settings.ADMISSION_QUEUE_RATE = 50
    app = AdmissionASGIMiddleware(None)  # a first flood: nothing learned yet
    waits = [app.retry_after(1) for _ in range(500)]
    assert waits == sorted(waits) and waits[-1] == 10  # fifty a second, not one
    assert waits.count(5) == 50

    app = AdmissionASGIMiddleware(None)
    app.shedder._last = (400, 200)  # the process has shown it completes more: that pace
    waits = [app.retry_after(1) for _ in range(1000)]
    assert waits[-1] == 5 and waits.count(3) == 200


def test_asgi_waiting_room_serves_the_next_in_line_and_sheds_past_its_wait(settings):
    import asyncio

    from smartclinic.core.admission import AdmissionASGIMiddleware

    settings.ADMISSION_MAX_IN_FLIGHT = 1
    settings.ADMISSION_MAX_WAITING = 1
    settings.ADMISSION_MAX_WAIT_MS = 200
    settings.ADMISSION_RETRY_AFTER_MAX = 1
    gates = [asyncio.Event(), asyncio.Event()]
    served = []

    async def app_under_test(scope, receive, send):
        served.append(len(served))
        await gates[min(len(served) - 1, 1)].wait()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = AdmissionASGIMiddleware(app_under_test)

    async def scenario():
        first = asyncio.create_task(_call(app, _scope()))
        await asyncio.sleep(0.01)
        waiting = asyncio.create_task(_call(app, _scope()))  # waits for the first's place
        await asyncio.sleep(0.01)
        assert app.room.waiting == 1
        turned_away = await asyncio.wait_for(_call(app, _scope()), timeout=0.05)  # the room is full
        gates[0].set()  # the first finishes: the one waiting goes in at once
        gates[1].set()
        done = await asyncio.gather(first, waiting)
        late = asyncio.create_task(_call(app, _scope()))  # free place: straight in
        return turned_away, done, await late

    turned_away, done, late = asyncio.run(scenario())
    assert turned_away[0]["status"] == 503
    assert [messages[0]["status"] for messages in done] == [201, 201]
    assert late[0]["status"] == 201
    assert app.in_flight == 0 and app.room.waiting == 0


def test_asgi_waiting_room_sheds_who_waited_too_long(settings):
    import asyncio

    from smartclinic.core.admission import AdmissionASGIMiddleware

    settings.ADMISSION_MAX_IN_FLIGHT = 1
    settings.ADMISSION_MAX_WAITING = 5
    settings.ADMISSION_MAX_WAIT_MS = 30
    release = asyncio.Event()

    async def stuck_app(scope, receive, send):
        await release.wait()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = AdmissionASGIMiddleware(stuck_app)

    async def scenario():
        first = asyncio.create_task(_call(app, _scope()))
        await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        shed = await _call(app, _scope())
        waited = asyncio.get_running_loop().time() - started
        release.set()
        await first
        return shed, waited

    shed, waited = asyncio.run(scenario())
    assert shed[0]["status"] == 503
    assert 0.02 <= waited < 0.5


def _hopeful_app(settings, *, waiting: int = 1, wait_ms: int = 500, judge=None, judging: bool = True):
    """One place, no waiting room; bookings with the body ``hopeful`` judged worth a wait."""
    import asyncio

    from smartclinic.core.admission import AdmissionASGIMiddleware

    settings.ADMISSION_MAX_IN_FLIGHT = 1
    settings.ADMISSION_MAX_WAIT_MS = 0
    settings.ADMISSION_HOPEFUL_WAITING = waiting
    settings.ADMISSION_HOPEFUL_WAIT_MS = wait_ms
    settings.ADMISSION_RETRY_AFTER_MAX = 1
    release = asyncio.Event()
    bodies: list[bytes] = []

    async def booking_app(scope, receive, send):
        message = await receive()
        bodies.append(message["body"])
        if message["body"] == b"slow":
            await release.wait()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = AdmissionASGIMiddleware(
        booking_app, judges={"/api/v1/appointments": Judge(judge or (lambda body: body == b"hopeful"), judging=judging)}
    )
    return app, release, bodies


class Judge:
    def __init__(self, worth, *, judging=True) -> None:
        self.worth = worth
        self.on = judging

    def judging(self) -> bool:
        return self.on

    def worth_a_wait(self, body: bytes) -> bool:
        return self.worth(body)


async def _book(app, body: bytes, path: str = "/api/v1/appointments"):
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await app(_scope(path), receive, send)
    return sent[0]["status"]


def test_a_booking_judged_worth_it_waits_for_a_place_and_one_that_is_not_is_shed(settings):
    import asyncio

    app, release, bodies = _hopeful_app(settings)

    async def scenario():
        first = asyncio.create_task(_book(app, b"slow"))  # takes the one place
        await asyncio.sleep(0.01)
        hopeless = await asyncio.wait_for(_book(app, b"hopeless"), timeout=0.05)
        waiting = asyncio.create_task(_book(app, b"hopeful"))
        await asyncio.sleep(0.01)
        assert app.room.waiting_hopefully == 1
        beyond = await asyncio.wait_for(_book(app, b"hopeful"), timeout=0.05)  # one may wait
        release.set()
        return hopeless, beyond, await first, await waiting

    hopeless, beyond, first, waited = asyncio.run(scenario())
    assert (hopeless, beyond, first, waited) == (503, 503, 201, 201)
    assert bodies == [b"slow", b"hopeful"]  # the one that waited reached the app, body and all
    assert app.in_flight == 0 and app.room.waiting_hopefully == 0


def test_a_hopeful_wait_is_bounded_and_free_places_need_no_judging(settings):
    import asyncio

    judged: list[bytes] = []

    def judge(body: bytes) -> bool:
        judged.append(body)
        return True

    app, release, _bodies = _hopeful_app(settings, wait_ms=30, judge=judge)

    async def scenario():
        first = asyncio.create_task(_book(app, b"slow"))
        await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        shed = await _book(app, b"hopeful")
        waited = asyncio.get_running_loop().time() - started
        release.set()
        return shed, waited, await first

    shed, waited, first = asyncio.run(scenario())
    assert shed == 503 and 0.02 <= waited < 0.5 and first == 201
    assert judged == [b"hopeful"]  # the first found a free place: not read ahead, not judged


def test_turned_off_not_judging_or_failing_a_judge_sheds_as_before(settings, caplog):
    import asyncio

    def broken(body: bytes) -> bool:
        raise ValueError("broken")

    for waiting, judge, judging in ((0, None, True), (1, None, False), (1, broken, True)):
        app, release, bodies = _hopeful_app(settings, waiting=waiting, judge=judge, judging=judging)

        async def scenario(app=app, release=release):
            first = asyncio.create_task(_book(app, b"slow"))
            await asyncio.sleep(0.01)
            shed = await asyncio.wait_for(_book(app, b"hopeful"), timeout=0.05)
            release.set()
            return shed, await first

        assert asyncio.run(scenario()) == (503, 201)
        assert bodies == [b"slow"]
    assert "judging a request's body failed" in caplog.text


def test_a_write_to_a_path_without_a_judge_is_not_read_ahead_nor_kept_waiting(settings):
    import asyncio

    app, release, bodies = _hopeful_app(settings)

    async def scenario():
        first = asyncio.create_task(_book(app, b"slow"))
        await asyncio.sleep(0.01)
        shed = await asyncio.wait_for(_book(app, b"hopeful", path="/api/v1/slots"), timeout=0.05)
        release.set()
        return shed, await first

    assert asyncio.run(scenario()) == (503, 201)
    assert bodies == [b"slow"]


def _workers_rooms(directory, *, workers: int = 2, share: int = 2, most: int = 3, **waiting):
    """One room per "worker process", sharing their admitted counts as the server's workers do."""
    from smartclinic.core.admission import WaitingRoom
    from smartclinic.core.shared_tally import SharedTally

    options = {"max_waiting": 0, "max_wait": 0.0, **waiting}
    return [
        WaitingRoom(
            most,
            server=SharedTally(directory, name="admitted", slots=workers),
            server_places=share * workers,
            **options,
        )
        for _ in range(workers)
    ]


def test_a_worker_takes_more_than_its_share_while_the_server_has_room(tmp_path):
    import asyncio

    busy, idle = _workers_rooms(tmp_path)  # 2 workers x 2 places; one may take up to 3

    async def scenario():
        admitted = [await busy.enter() for _ in range(4)]
        return admitted

    # The connections of a rush hashed onto one worker: it takes 3 of the server's 4 places.
    assert asyncio.run(scenario()) == [True, True, True, False]
    assert busy.inside == 3 and busy.full()
    assert not idle.full()  # and the other worker still has the last one


def test_the_server_as_a_whole_admits_no_more_than_its_places(tmp_path):
    import asyncio

    first, second = _workers_rooms(tmp_path)

    async def scenario():
        taken = [await first.enter(), await first.enter(), await second.enter(), await second.enter()]
        turned_away = await first.enter(), await second.enter()  # each under its most, the server full
        first.leave()
        return taken, turned_away, await second.enter()

    taken, turned_away, after_a_leave = asyncio.run(scenario())
    assert taken == [True] * 4
    assert turned_away == (False, False)
    assert after_a_leave  # a place freed by one worker is the other's to take
    assert (first.inside, second.inside) == (1, 3)


def test_a_worker_waiting_for_a_place_in_a_full_server_goes_in_when_its_own_frees(tmp_path):
    import asyncio

    first, second = _workers_rooms(tmp_path, max_waiting=1, max_wait=1.0)

    async def scenario():
        for room in (first, first, second, second):
            await room.enter()
        waiting = asyncio.create_task(first.enter())
        await asyncio.sleep(0.01)
        assert first.waiting == 1 and not waiting.done()
        first.leave()  # the place goes to the one in line, not to whoever comes next
        return await asyncio.wait_for(waiting, 1), await second.enter()

    assert asyncio.run(scenario()) == (True, False)
    assert first.inside == 2 and first.waiting == 0


def test_one_who_gave_up_waiting_leaves_the_line_and_takes_no_place(tmp_path):
    import asyncio

    from smartclinic.core.admission import WaitingRoom

    room = WaitingRoom(1, max_waiting=2, max_wait=0.02)

    async def scenario():
        await room.enter()
        gave_up = await room.enter()  # waited 20 ms, no place came
        room.leave()
        return gave_up, room.taken(), await room.enter()

    assert asyncio.run(scenario()) == (False, False, True)
    assert room.inside == 1 and room.waiting == 0


def test_the_servers_workers_share_their_places_and_a_lone_process_keeps_its_own(settings, tmp_path, monkeypatch):
    from smartclinic.core.admission import places_per_process, waiting_room_from_settings
    from smartclinic.core.shared_log import ENV_DIR, ENV_RINGS

    settings.ADMISSION_MAX_IN_FLIGHT = 4
    settings.ADMISSION_WORKER_MAX_IN_FLIGHT = 8
    monkeypatch.delenv(ENV_DIR, raising=False)
    alone = waiting_room_from_settings()
    assert (places_per_process(), alone.places, alone.server) == (4, 4, None)

    monkeypatch.setenv(ENV_DIR, str(tmp_path))  # as python -m smartclinic.serve --workers 3 sets it
    monkeypatch.setenv(ENV_RINGS, "3")
    worker = waiting_room_from_settings()
    assert (places_per_process(), worker.places, worker.server_places) == (8, 8, 12)
    assert worker.server is not None and worker.server.slots == 3

    settings.ADMISSION_MAX_IN_FLIGHT = 0  # no limit: nothing shared
    assert places_per_process() == 0 and waiting_room_from_settings().server is None
