"""The live streams: what each scope may see, the SSE framing, the bus, and a real ASGI stream
that hears a call at once and replays what a reconnecting client missed."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient

from smartclinic.core.actor import Actor
from smartclinic.queueing import bus, screens, services
from smartclinic.queueing.models import QueueEvent
from smartclinic.queueing.presenters import mask_name
from smartclinic.queueing.streams import EventScope, Frame, TicketScope, _run_sync, encode


def frames_of(chunks: list[bytes]) -> list[dict]:
    text = b"".join(chunks).decode()
    frames = []
    for block in text.split("\n\n"):
        data = [line[6:] for line in block.split("\n") if line.startswith("data: ")]
        ids = [line[4:] for line in block.split("\n") if line.startswith("id: ")]
        if data:
            frames.append({"id": int(ids[0]) if ids else None, **json.loads("".join(data))})
    return frames


def test_encode_frames_id_and_json_data():
    assert encode(Frame(id=7, data={"kind": "called", "name": "张*明"})) == (
        'id: 7\ndata: {"kind":"called","name":"张*明"}\n\n'.encode()
    )
    assert encode(Frame(data={"a": 1})) == b'data: {"a":1}\n\n'


def test_the_hub_wakes_only_matching_subscribers():
    screen = bus.subscribe_sync({"dept:1"})
    doctor = bus.subscribe_sync({"doctor:9"})
    try:
        assert bus.hub.deliver(bus.channels_for(department_id=1, doctor_ids=[2], ticket_id=3)) >= 1
        assert screen.event.is_set() and not doctor.event.is_set()
        bus.publish({"doctor:9"})  # no REDIS_URL: in-process
        assert doctor.wait(0.1)
    finally:
        bus.unsubscribe_sync(screen)
        bus.unsubscribe_sync(doctor)


def test_a_wake_up_from_another_thread_reaches_a_waiting_stream():
    subscriber = bus.subscribe_sync({"dept:5"})
    try:
        started = time.monotonic()
        threading.Timer(0.05, bus.publish, args=[{"dept:5"}]).start()
        assert subscriber.wait(2.0)
        assert time.monotonic() - started < 1.0
    finally:
        bus.unsubscribe_sync(subscriber)


@pytest.mark.django_db
def test_announcements_wait_for_the_commit(day, ticket_for, django_capture_on_commit_callbacks):
    subscriber = bus.subscribe_sync({f"dept:{day['department'].pk}"})
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            ticket_for(day["slots"][0])
        assert callbacks and not subscriber.event.is_set()
        for callback in callbacks:
            callback()
        assert subscriber.event.is_set()
    finally:
        bus.unsubscribe_sync(subscriber)


@pytest.mark.django_db
def test_a_screen_sees_its_departments_events_with_masked_names_only(
    day, ticket_for, clock_at, make_department, make_doctor, make_session
):
    actor = Actor.system(reason="test")
    ticket = ticket_for(day["slots"][0])
    clock_at(7, 58)
    services.ticket_check_in(actor=actor, ticket=ticket)
    services.ticket_call_next(actor=actor, doctor=day["doctor"])
    elsewhere = make_department(code="WK", name="外科")
    surgeon = make_doctor(elsewhere, name="外科医生")
    make_session(surgeon, elsewhere, days_ahead=0)

    batch = EventScope(department_ids=[day["department"].pk], public=True).fetch(0)
    other = EventScope(department_ids=[elsewhere.pk], public=True).fetch(0)

    assert [f.data["kind"] for f in batch.frames] == ["issued", "checked_in", "called"]
    call = batch.frames[-1].data
    name = ticket.member.name
    assert (call["code"], call["room"], call["name"]) == ("NK-001", "3", mask_name(name))
    assert call["say"].startswith("请 NK 001 号") and call["say"].endswith("到 3 诊室就诊")
    assert call["text"] == f"请 NK-001 号 {call['name']} 到 3 诊室就诊"
    assert name not in json.dumps([f.data for f in batch.frames], ensure_ascii=False)
    assert batch.cursor == batch.frames[-1].id == QueueEvent.objects.latest("id").pk
    assert other.frames == [] and other.cursor == 0
    assert EventScope(department_ids=[day["department"].pk], public=True).fetch(batch.cursor).frames == []


@pytest.mark.django_db
def test_a_switched_off_screen_ends_its_stream(day):
    key = screens.screen_create(actor=Actor.system(reason="test"), name="大厅", departments=[day["department"]])
    scope = EventScope(department_ids=[day["department"].pk], public=True, screen_id=key.screen.pk)
    assert not scope.fetch(0).ended
    screens.screen_set_active(actor=Actor.system(reason="test"), screen=key.screen, active=False)
    assert scope.fetch(0).ended


@pytest.mark.django_db
def test_a_patient_stream_sends_the_own_summary_never_others_data(day, ticket_for, clock_at):
    actor = Actor.system(reason="test")
    mine = ticket_for(day["slots"][1])
    before_me = ticket_for(day["slots"][0])
    clock_at(7, 58)
    services.ticket_check_in(actor=actor, ticket=mine)
    services.ticket_check_in(actor=actor, ticket=before_me)
    cursor = QueueEvent.objects.latest("id").pk
    scope = TicketScope(ticket_id=mine.pk, doctor_id=mine.doctor_id)
    first = scope.first(cursor)[0].data
    assert (first["status"], first["ahead"], first["code"]) == ("arrived", 1, mine.code)

    services.ticket_call_next(actor=actor, doctor=day["doctor"])  # the other patient is called
    batch = scope.fetch(cursor)

    assert len(batch.frames) == 1
    summary = batch.frames[0].data
    assert summary["ahead"] == 0 and summary["status"] == "arrived"
    assert before_me.member.name not in json.dumps(summary, ensure_ascii=False)
    assert before_me.code not in json.dumps(summary)
    assert scope.fetch(batch.cursor).frames == []


@pytest.mark.django_db
def test_the_threaded_stream_replays_after_the_cursor_then_polls(day, ticket_for, settings):
    settings.QUEUE_STREAM_POLL_MS = 50
    first = ticket_for(day["slots"][0])
    cursor = QueueEvent.objects.get(ticket=first).pk
    ticket_for(day["slots"][1])
    scope = EventScope(department_ids=[day["department"].pk], poll_seconds=0.05)
    stream = _run_sync(scope, cursor)

    chunks = [next(stream), next(stream)]
    assert chunks[0].startswith(b"retry: ")
    replayed = frames_of(chunks)
    assert [f["code"] for f in replayed] == ["NK-002"]

    ticket_for(day["slots"][2])  # seen at the next poll (nobody woke this thread)
    assert next(stream) == b": ping\n\n"
    later = frames_of([next(stream)])
    assert [f["code"] for f in later] == ["NK-003"]
    before = bus.hub.count()
    stream.close()
    assert bus.hub.count() <= before - 1


@pytest.mark.django_db(transaction=True)
def test_an_asgi_screen_stream_hears_a_call_at_once_and_replays_on_reconnect(day, ticket_for, clock_at, settings):
    settings.QUEUE_STREAM_POLL_MS = 60_000  # only the bus can deliver within the test's second
    actor = Actor.system(reason="test")
    ticket = ticket_for(day["slots"][0])
    clock_at(7, 58)
    services.ticket_check_in(actor=actor, ticket=ticket)
    key = screens.screen_create(actor=actor, name="内科候诊区", departments=[day["department"]])
    start = QueueEvent.objects.latest("id").pk
    url = f"/screen/{key.token}/stream/?last_id={start}"

    async def first_frame(stream) -> tuple[list[dict], bytes]:
        seen: list[bytes] = []
        while True:
            chunk = await asyncio.wait_for(stream.__anext__(), 5)
            seen.append(chunk)
            frames = frames_of(seen)
            if frames:
                return frames, b"".join(seen)

    async def hang_up(stream) -> None:
        """The client goes away: under ASGI Django cancels the task that reads the stream."""
        reading = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.05)
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)

    async def scenario() -> tuple[list[dict], float, list[dict], int]:
        before = bus.hub.count()  # streams of earlier tests (a live server's threads) may linger
        client = AsyncClient()
        response = await client.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
        stream = response.streaming_content
        prelude = await stream.__anext__()
        assert prelude.startswith(b"retry: ")
        started = time.monotonic()
        await sync_to_async(services.ticket_call_next)(actor=actor, doctor=day["doctor"])
        frames, _ = await first_frame(stream)
        latency = time.monotonic() - started
        await hang_up(stream)
        subscribers = bus.hub.count() - before
        # Reconnecting with the id before the call replays it.
        again = (await client.get(url, headers={"Last-Event-ID": str(start)})).streaming_content
        replay, _ = await first_frame(again)
        await hang_up(again)
        return frames, latency, replay, subscribers

    frames, latency, replay, subscribers = async_to_sync(scenario)()

    assert frames[0]["kind"] == "called" and frames[0]["code"] == "NK-001"
    assert latency < 1.0, f"the call took {latency:.3f}s to reach the screen"
    assert replay[0]["id"] == frames[0]["id"]
    assert subscribers <= 0  # the hung-up stream left the hub
